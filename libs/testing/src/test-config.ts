import { loadConfig, type HeraldConfig } from '@herald/platform';
import { testEnv } from './services';

/** A validated config for in-process tests (same values as testEnv). */
export function testConfig(databaseUrlValue: string, queuePrefix: string, extra: Record<string, string> = {}): HeraldConfig {
  return loadConfig(testEnv(databaseUrlValue, queuePrefix, extra));
}
