import type { CommandDef } from "citty";

/** Every subcommand, loaded on demand so --help and a cold start do not pay for modules they do not use. */
export const subCommands: Record<string, () => Promise<CommandDef<any>>> = {
  broker: () => import("./broker").then((m) => m.default),
  echo: () => import("./echo").then((m) => m.default),
  ping: () => import("./ping").then((m) => m.default),
  all: () => import("./all").then((m) => m.default),
  passwd: () => import("./passwd").then((m) => m.default),
  bench: () => import("./bench").then((m) => m.default),
  cluster: () => import("./cluster").then((m) => m.default),
  pub: () => import("./pub").then((m) => m.default),
  sub: () => import("./sub").then((m) => m.default),
  completion: () => import("./completion").then((m) => m.default),
  conformance: () => import("./conformance").then((m) => m.default),
};
