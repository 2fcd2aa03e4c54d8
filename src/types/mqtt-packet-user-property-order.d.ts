// Patched into mqtt-packet (patches/mqtt-packet/51-user-property-order-stored.patch): User
// Properties' wire order kept through a store that serializes packets.
declare module "mqtt-packet/userPropertyOrder.js" {
  /** A shallow copy of `packet` carrying its User Properties' order as a plain field, or `packet` itself when there is none to keep. */
  export function withUserPropertyOrder<T>(packet: T): T;
  /** `packet` as read back from a store, its User Properties' order put back where mqtt-packet's writer looks. */
  export function restoreUserPropertyOrder<T>(packet: T): T;
}
