import { reloadFiles, type ReloadTargets } from "../broker/setup/reload";
import { log } from "../log";

/** SIGHUP (systemctl reload, log rotation) runs `reload` instead of ending the process. */
export function onReloadSignal(reload: () => void): void {
  process.on("SIGHUP", reload);
}

/** A broker's reload: the files it was started with read again, and one line that says how it went. */
export function reloadBrokerFiles(targets: ReloadTargets): () => void {
  return () => {
    try {
      const reloaded = reloadFiles(targets);
      log.info(reloaded ? `SIGHUP: reloaded ${reloaded}.` : "SIGHUP: nothing to reload (no --password-file, --acl-file or --cert).");
    } catch (error) {
      log.error(`SIGHUP: reload failed, keeping the previous configuration: ${(error as Error).message}`);
    }
  };
}
