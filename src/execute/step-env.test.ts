import { describe, it, expect } from '@jest/globals';
import { buildStepEnv } from './step-env.js';

const source = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/svc',
  LANG: 'C.UTF-8',
  SECRET_TOKEN: 'x',
  LD_PRELOAD: '/evil.so',
  BASH_ENV: '/evil.sh',
  NODE_OPTIONS: '--require /evil.js',
  EXTRA: 'extra value',
};

describe('buildStepEnv', () => {
  it('takes PATH, HOME, LANG and TZ from the source and the plan variables, nothing else', () => {
    const env = buildStepEnv({ PARAM_HOST: 'gpu-1', ALERT_NAME: 'Down', RUN_ID: 'r1' }, [], source);
    expect({ ...env }).toEqual({ PATH: '/usr/bin:/bin', HOME: '/home/svc', LANG: 'C.UTF-8', PARAM_HOST: 'gpu-1', ALERT_NAME: 'Down', RUN_ID: 'r1' });
    expect(Object.getPrototypeOf(env)).toBeNull();
  });

  it('adds the names the config allows, and only those', () => {
    const env = buildStepEnv({}, ['EXTRA', 'MISSING'], source);
    expect(env.EXTRA).toBe('extra value');
    expect('MISSING' in env).toBe(false);
    expect('SECRET_TOKEN' in env).toBe(false);
  });

  it.each(['LD_PRELOAD', 'BASH_ENV', 'NODE_OPTIONS', 'PATH', 'BASH_FUNC_x%%', '__proto__'])(
    'never takes %s from the plan',
    (name) => {
      const planEnv = Object.assign(Object.create(null) as Record<string, string>, { [name]: 'from-plan' });
      const env = buildStepEnv(planEnv, [], {});
      expect(Object.keys(env)).toEqual([]);
    },
  );

  it('passes a dangerous name only when explicitly allowed', () => {
    expect('LD_PRELOAD' in buildStepEnv({}, [], source)).toBe(false);
    expect(buildStepEnv({}, ['LD_PRELOAD'], source).LD_PRELOAD).toBe('/evil.so');
  });
});
