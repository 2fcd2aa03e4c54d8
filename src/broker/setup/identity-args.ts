import { UsageError } from "../../core/usage-error";

/** broker's identity flags, with mosquitto's names (use_username_as_clientid, use_identity_as_username). */
export const identityArgs = {
  "use-username-as-client-id": { type: "boolean", description: "The user name replaces the client id: one session per user, none taken over by another" },
  "use-identity-as-username": { type: "boolean", description: "TLS: the client certificate's CN is the user name, no password (needs --require-certificate)" },
} as const;

export function toIdentityOptions(args: { [K in keyof typeof identityArgs | "require-certificate"]?: string | boolean }): { useUsernameAsClientId: boolean; useIdentityAsUsername: boolean } {
  const useIdentityAsUsername = Boolean(args["use-identity-as-username"]);
  if (useIdentityAsUsername && !args["require-certificate"]) {
    throw new UsageError("--use-identity-as-username needs --require-certificate (with --tls-port and --cafile): the certificate is the login");
  }
  return { useUsernameAsClientId: Boolean(args["use-username-as-client-id"]), useIdentityAsUsername };
}
