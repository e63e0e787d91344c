import t from 'tap';
import { closestKey, levenshtein } from '../../../src/config/suggest.js';

const UPSTREAM = ['name', 'url', 'weight', 'backup', 'tls', 'timeouts', 'maxConnections', 'breaker'];

t.test('levenshtein', async (t) => {
  t.equal(levenshtein('', ''), 0);
  t.equal(levenshtein('abc', ''), 3);
  t.equal(levenshtein('weight', 'wieght'), 2);
  t.equal(levenshtein('kitten', 'sitting'), 3);
});

t.test('closestKey', async (t) => {
  t.equal(closestKey('wieght', UPSTREAM), 'weight', 'transposition');
  t.equal(closestKey('weigth', UPSTREAM), 'weight');
  t.equal(closestKey('urls', UPSTREAM), 'url', 'one extra letter');
  t.equal(closestKey('MAXCONNECTIONS', UPSTREAM), 'maxConnections', 'case-insensitive equal');
  t.equal(closestKey('maxconnection', UPSTREAM), 'maxConnections');
  t.equal(closestKey('timeout', UPSTREAM), 'timeouts');
  t.equal(closestKey('priority', UPSTREAM), undefined, 'nothing close');
  t.equal(closestKey('ab', ['ca']), undefined, 'short keys do not match everything');
  t.equal(closestKey('cs', ['ca']), 'ca');
});
