import t from 'tap';
import { guardedLookup, isInternalAddress, redirectTargetProblem } from '../../../src/upstream/address-guard.js';

t.test('internal addresses', async (t) => {
  for (const address of [
    '127.0.0.1',
    '127.9.9.9',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '0.0.0.0',
    '100.64.0.1',
    '::1',
    '::',
    'fd00:ec2::254',
    'fc00::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
  ]) {
    t.ok(isInternalAddress(address), address);
  }
  for (const address of ['8.8.8.8', '172.32.0.1', '104.16.1.1', '2606:4700::1111', '::ffff:8.8.8.8', 'not-an-ip']) {
    t.notOk(isInternalAddress(address), address);
  }
});

t.test('redirect targets', async (t) => {
  const none = new Set<string>();
  t.equal(redirectTargetProblem(new URL('https://cdn.example/x'), none, false), undefined);
  t.equal(redirectTargetProblem(new URL('ftp://cdn.example/x'), none, false), 'redirect to a ftp: URL');
  t.equal(redirectTargetProblem(new URL('http://169.254.169.254/latest/meta-data'), none, false), 'redirect to internal address 169.254.169.254');
  t.equal(redirectTargetProblem(new URL('http://[::1]:8080/'), none, false), 'redirect to internal address ::1');
  t.equal(redirectTargetProblem(new URL('http://localhost:8080/'), none, false), 'redirect to localhost');
  t.equal(redirectTargetProblem(new URL('http://127.0.0.1:9/'), new Set(['127.0.0.1']), false), undefined, 'allowHosts');
  t.equal(redirectTargetProblem(new URL('http://127.0.0.1:9/'), none, true), undefined, 'allowPrivate');
});

t.test('the guarded lookup refuses names that resolve inside', async (t) => {
  const lookup = guardedLookup(new Set());
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => lookup('localhost', {}, (e) => resolve(e)));
  t.equal(err?.code, 'EINTERNALADDRESS');
  const allowed = guardedLookup(new Set(['localhost']));
  const address = await new Promise<string>((resolve) => allowed('localhost', {}, (_e, a) => resolve(a as string)));
  t.ok(isInternalAddress(address), 'allowed host resolves normally');
});
