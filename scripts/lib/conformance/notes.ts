// Where mqtt-pingpong's broker and mosquitto 2.0.11 answer a statement differently: who is right, by the
// spec's own words. Keyed by "<protocol> <id>". A note for a difference that no longer occurs is unused.

export const NOTES: Record<string, string> = {
  // Ours wrong.
  "3.1.1 MQTT-3.1.2-2":
    'MQTT 3.1.1 says "The Server MUST respond to the CONNECT Packet with a CONNACK return code 0x01 (unacceptable protocol level) and then disconnect the Client if the Protocol Level is not supported"; ours closes without the CONNACK, mosquitto sends it. mosquitto is right.',
  "3.1.1 MQTT-3.2.2-4": "Follows from MQTT-3.1.2-2: ours sends no CONNACK at all to an unsupported protocol level, so there is no refusing CONNACK to judge; mosquitto sends CONNACK 0x01 with Session Present 0, as required. mosquitto is right.",
  "3.1.1 MQTT-3.2.2-5": "Follows from MQTT-3.1.2-2: the refusing CONNACK the check waits for never comes from ours. mosquitto is right.",
  "3.1.1 MQTT-3.1.2-11": 'With Will Flag 0 "the Will Topic and Will Message fields MUST NOT be present in the payload", and a CONNECT that does not match §3.1 must close the connection [MQTT-3.1.4-1]; ours ignores the extra fields and accepts. mosquitto is right.',
  "3.1.1 MQTT-3.1.2-14": '"It MUST NOT be 3" (Will QoS); ours accepts a CONNECT with Will QoS 3, mosquitto closes it. mosquitto is right.',
  "5 MQTT-3.1.2-12": 'Will QoS "can be 0, 1, or 2"; "A value of 3 (0x03) is a Malformed Packet". Ours accepts it, mosquitto closes. mosquitto is right.',
  "3.1.1 MQTT-3.1.2-18": '"If the User Name Flag is set to 0, a user name MUST NOT be present in the payload"; ours accepts a CONNECT carrying one anyway. mosquitto closes it, as §3.1.4 requires for a CONNECT that does not conform. mosquitto is right.',
  "5 MQTT-3.1.2-16": '"If the User Name Flag is set to 0, a User Name MUST NOT be present in the Payload"; ours accepts one anyway, mosquitto closes. mosquitto is right.',
  "3.1.1 MQTT-3.1.2-20": '"If the Password Flag is set to 0, a password MUST NOT be present in the payload"; ours accepts one anyway, mosquitto closes. mosquitto is right.',
  "5 MQTT-3.1.2-18": '"If the Password Flag is set to 0, a Password MUST NOT be present in the Payload"; ours accepts one anyway, mosquitto closes. mosquitto is right.',
  "3.1.1 MQTT-3.1.2-22": 'MQTT 3.1.1: "If the User Name Flag is set to 0, the Password Flag MUST be set to 0"; ours accepts a password without a user name under 3.1.1, mosquitto closes. mosquitto is right.',
  "3.1.1 MQTT-3.1.4-4": 'A CONNECT with Keep Alive 0 is valid ("A Keep Alive value of zero has the effect of turning off the keep alive mechanism"), so "the Server MUST acknowledge the CONNECT Packet with a CONNACK Packet containing a zero return code"; ours, under --max-keepalive, refused it with 0x02. mosquitto (max_keepalive 60) accepts it. mosquitto is right.',
  "3.1.1 MQTT-3.3.1-2": '"The DUP flag MUST be set to 0 for all QoS 0 messages"; ours forwarded the publisher\'s DUP 1 to a QoS 0 subscriber. mosquitto is right.',
  "5 MQTT-3.3.1-2": '"The DUP flag MUST be set to 0 for all QoS 0 messages"; ours forwarded the publisher\'s DUP 1 to a QoS 0 subscriber. mosquitto is right.',
  "3.1.1 MQTT-3.3.1-3": 'The outgoing DUP flag\'s "value MUST be determined solely by whether the outgoing PUBLISH packet is a retransmission"; ours copied the incoming DUP 1 to a first delivery. mosquitto is right.',
  "5 MQTT-3.3.1-3": 'The outgoing DUP flag\'s "value MUST be determined solely by whether the outgoing PUBLISH packet is a retransmission"; ours copied the incoming DUP 1 to a first delivery. mosquitto is right.',
  "5 MQTT-2.2.2-2":
    '"A Control Packet which contains an Identifier which is not valid for its packet type ... is a Malformed Packet." Ours accepts a PUBLISH carrying Session Expiry Interval, and its will PUBLISH carries the Will Delay Interval, which is not a PUBLISH property (§3.3.2.3); mosquitto does neither. mosquitto is right.',
  "5 MQTT-3.1.2-6": '"If a CONNECT packet is received with Clean Start set to 0 and there is no Session associated with the Client Identifier, the Server MUST create a new Session." Ours creates one that never acknowledges a QoS 1 PUBLISH to its subscription (with Session Expiry 0). mosquitto is right.',
  "5 MQTT-3.3.2-18": '"The Server MUST maintain the order of User Properties when forwarding the Application Message"; ours groups them by key. mosquitto keeps the order and is right.',
  "5 MQTT-3.1.3-10": '"The Server MUST maintain the order of User Properties when publishing the Will Message"; ours groups them by key. mosquitto keeps the order and is right.',
  "5 MQTT-3.1.2-4": '"If a CONNECT packet is received with Clean Start is set to 1, the Client and Server MUST discard any existing Session and start a new Session" — a new session that lasts its Session Expiry Interval; ours lost a session begun with Clean Start 1. mosquitto is right.',
  "5 MQTT-3.1.2-5": "Ours did not resume a session begun with Clean Start 1 and Session Expiry 99999 (no messages delivered). mosquitto is right.",
  "5 MQTT-3.1.2-23": '"The Client and Server MUST store the Session State after the Network Connection is closed if the Session Expiry Interval is greater than 0"; ours did not for a session begun with Clean Start 1. mosquitto is right.',

  // mosquitto wrong.
  "3.1.1 MQTT-2.2.2-2": 'MQTT 3.1.1: "If invalid flags are received, the receiver MUST close the Network Connection"; mosquitto 2.0.11 answers a PINGREQ whose reserved flags are 0001 and stays connected. Ours closes. Ours is right.',
  "5 MQTT-2.1.3-1": 'Reserved flag bits "MUST be set to the value listed" and a packet with other values is malformed; mosquitto 2.0.11 accepts a PINGREQ with flags 0001. Ours closes. Ours is right.',
  "3.1.1 MQTT-3.1.2-24": 'The server "MUST disconnect the Network Connection to the Client" when nothing comes "within one and a half times the Keep Alive time period"; with Keep Alive 1 s mosquitto 2.0.11 closes after 3 s or more (it checks keep-alive in whole seconds). Ours closes within 1.5 s. Ours is right.',
  "5 MQTT-3.1.2-22": 'The server "MUST close the Network Connection" when nothing comes "within one and a half times the Keep Alive time period"; with Keep Alive 1 s mosquitto 2.0.11 takes 3 s or more. Ours is right.',
  "5 MQTT-3.3.4-9": '"The Server MUST NOT send more than Receive Maximum QoS 1 and QoS 2 PUBLISH packets for which it has not received PUBACK"; with Receive Maximum 2, one PUBACK lets mosquitto 2.0.11 send two more (three in flight). Ours keeps to two. Ours is right.',
  "5 MQTT-4.9.0-1": "As MQTT-3.3.4-9: mosquitto's send quota grows past the client's Receive Maximum after a PUBACK. Ours is right.",
  "5 MQTT-4.9.0-2": '"If the send quota reaches zero, the Client or Server MUST NOT send any more PUBLISH packets with QoS > 0"; mosquitto 2.0.11 does (a third in flight with Receive Maximum 2). Ours is right.',
  "5 MQTT-3.8.3-4": '"It is a Protocol Error to set the No Local bit to 1 on a Shared Subscription"; mosquitto 2.0.11 grants such a subscription and stays connected. Ours closes the connection. Ours is right.',
  "5 MQTT-4.3.3-7": 'The QoS 2 sender "MUST NOT apply Message expiry if a PUBLISH packet has been sent"; mosquitto 2.0.11 drops a QoS 2 message it already sent (no PUBREC yet) once its Message Expiry Interval passes, instead of re-sending it when the session resumes. Ours re-sends it. Ours is right.',
  "5 MQTT-4.8.2-1": 'A Shared Subscription\'s Topic Filter "MUST contain a ShareName that is at least one character long"; mosquitto 2.0.11 grants $share//x. Ours refuses it. Ours is right.',
  "5 MQTT-4.8.2-2": 'The ShareName "MUST be followed by a "/" character. This "/" character MUST be followed by a Topic Filter"; mosquitto 2.0.11 grants $share//x (an empty ShareName). Ours refuses it. Ours is right.',
};

/** Deliberate deviations of our broker from the spec, with their reason. There should be none. */
export const DEVIATIONS: Array<{ id: string; reason: string }> = [];
