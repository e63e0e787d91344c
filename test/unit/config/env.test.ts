import t from 'tap';
import { expandEnv } from '../../../src/config/env.js';

const env = { HUB: 'registry-1.docker.io', EMPTY: '', TEMPLATE: '${HUB}', _X1: 'x' };

t.test('substitutes set variables', async (t) => {
  t.strictSame(expandEnv('https://${HUB}/x', env), { value: 'https://registry-1.docker.io/x', problems: [] });
  t.strictSame(expandEnv('${HUB}${_X1}', env), { value: 'registry-1.docker.iox', problems: [] });
  t.strictSame(expandEnv('a${EMPTY}b', env), { value: 'ab', problems: [] }, 'empty counts as set');
});

t.test('substituted values are not expanded again', async (t) => {
  t.strictSame(expandEnv('${TEMPLATE}', env), { value: '${HUB}', problems: [] });
});

t.test('$${ escapes to a literal ${', async (t) => {
  t.strictSame(expandEnv('$${HUB}', env), { value: '${HUB}', problems: [] });
  t.strictSame(expandEnv('a$${NOT_SET}b', env), { value: 'a${NOT_SET}b', problems: [] });
});

t.test('other dollars are kept', async (t) => {
  t.strictSame(expandEnv('pa$$word$', env), { value: 'pa$$word$', problems: [] });
  t.strictSame(expandEnv('$HUB', env), { value: '$HUB', problems: [] });
  t.strictSame(expandEnv('no refs', env), { value: 'no refs', problems: [] });
});

t.test('unset, malformed and unterminated references are problems', async (t) => {
  t.strictSame(expandEnv('${HUB_TOKEN}', env).problems, ['environment variable HUB_TOKEN is not set']);
  t.strictSame(expandEnv('${A}-${B}', env).problems, ['environment variable A is not set', 'environment variable B is not set']);
  t.strictSame(expandEnv('${1X}', env).problems, ['invalid environment variable name "1X"']);
  t.strictSame(expandEnv('${}', env).problems, ['invalid environment variable name ""']);
  t.strictSame(expandEnv('x${HUB', env).problems, ['unterminated "${" (write "$${" for a literal "${")']);
});
