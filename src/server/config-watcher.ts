/**
 * Calls back when the config file changes on disk. Watches the directory rather than the file:
 * editors and Kubernetes ConfigMaps replace the file (rename or symlink swap), which ends a
 * watch on the file itself. Bursts of events are folded into one call.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

const SETTLE_MS = 150;

export function watchConfigFile(file: string, onChange: () => void): { close(): void } {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      // ConfigMap updates swap a `..data` symlink, so any change in the folder may be ours.
      if (changed !== null && changed !== name && !changed.startsWith('..')) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, SETTLE_MS);
    });
  } catch {
    return { close() {} };
  }
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
