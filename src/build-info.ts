// What `--version` reports. The build (scripts/compile.ts) replaces these three names with constants;
// run from source (`bun src/cli.ts`) they are not defined, and the fallbacks say so.
import { version as packageVersion } from "../package.json";

declare const MQTT_PINGPONG_VERSION: string;
declare const MQTT_PINGPONG_COMMIT: string;
declare const MQTT_PINGPONG_TARGET: string;

export interface BuildInfo {
  name: "mqtt-pingpong";
  version: string;
  commit: string;
  target: string;
}

export const buildInfo: BuildInfo = {
  name: "mqtt-pingpong",
  version: typeof MQTT_PINGPONG_VERSION === "string" ? MQTT_PINGPONG_VERSION : packageVersion,
  commit: typeof MQTT_PINGPONG_COMMIT === "string" ? MQTT_PINGPONG_COMMIT : "source",
  target: typeof MQTT_PINGPONG_TARGET === "string" ? MQTT_PINGPONG_TARGET : `${process.platform}-${process.arch}`,
};

/** `mqtt-pingpong 0.2.0 (abc1234, linux-arm64)`, or with `json` one JSON object. */
export function formatVersion(info: BuildInfo, json: boolean): string {
  return json ? JSON.stringify(info) : `${info.name} ${info.version} (${info.commit}, ${info.target})`;
}
