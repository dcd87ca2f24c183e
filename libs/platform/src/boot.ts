import { ConfigError, loadConfig, type HeraldConfig, type LoadConfigOptions } from './config';

/** Loads the configuration or stops the process with a message naming every bad variable. */
export function loadConfigOrExit(options?: LoadConfigOptions): HeraldConfig {
  try {
    return loadConfig(process.env, options);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/** Runs an app's main, printing a startup failure as one readable line instead of a stack trace. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${name} failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
