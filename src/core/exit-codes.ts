/** Exit statuses, the same for every subcommand; listed in the README. */
export const ExitCode = {
  ok: 0,
  /** ping: at least one probe got no echo within --timeout. */
  probesLost: 1,
  /** bench: messages lost at QoS 1 or 2 (a broker fault). */
  messagesLost: 1,
  /** conformance: at least one statement failed. */
  conformanceFailures: 1,
  /** A bad flag, value, file or URL. */
  usage: 2,
  /** A client could not connect before --connect-timeout, or lost its connection. */
  connection: 3,
  /** The broker could not listen (address in use, not permitted, not available). */
  listen: 4,
  /** broker --cluster: Redis could not be reached at start. */
  clusterRedis: 5,
  /** sub -W: the time ran out before -C messages came (mosquitto_sub's status). */
  subTimeout: 27,
} as const;
