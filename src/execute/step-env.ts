/** The environment a step sees: an allow-list of the service's own variables plus the plan's alert data. */

/** Names taken from the service's environment unless the config names more. */
export const BASE_ENV_NAMES: readonly string[] = ['PATH', 'HOME', 'LANG', 'TZ'];

/** Plan variables are alert data and run identity only; nothing else may come from a plan. */
const PLAN_NAME = /^(?:PARAM|ALERT|RUN)_[A-Za-z0-9_]+$/;

/**
 * Builds a step's whole environment. Variables that change how a program loads or a shell
 * starts (LD_PRELOAD, BASH_ENV, ENV, NODE_OPTIONS...) never pass unless `allow` names them.
 */
export function buildStepEnv(
  planEnv: Readonly<Record<string, string>>,
  allow: readonly string[],
  source: NodeJS.ProcessEnv,
): Record<string, string> {
  const env = Object.create(null) as Record<string, string>;
  for (const name of [...BASE_ENV_NAMES, ...allow]) {
    if (!Object.prototype.hasOwnProperty.call(source, name)) continue;
    const value = source[name];
    if (typeof value === 'string') env[name] = value;
  }
  for (const name of Object.keys(planEnv)) {
    const value = planEnv[name];
    if (PLAN_NAME.test(name) && typeof value === 'string') env[name] = value;
  }
  return env;
}
