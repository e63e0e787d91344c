/**
 * Runs the fault matrix (matrix.ts) with the cache off or on: the rows of one fault run at once
 * (each in its own gateway, with its own faulty mirror; the honest mirror is shared, it keeps no
 * state), then each row's assertions are a subtest named for the cell.
 */
import t, { type Test } from 'tap';
import { startFakeUpstream } from '../integration/helpers/fake-upstream.js';
import { contentMirror, createContent, type Content } from './helpers/content-mirror.js';
import { PULL_BOUND_MS, rightAnswer, runCell, sha256, type CellRun, type Pulled } from './helpers/cell.js';
import { inMode, MATRIX, type Row } from './matrix.js';

const accepted = (p: Pulled): boolean => p.complete && p.status >= 200 && p.status < 300;

/** The client accepted `p` and it is what the content says (for a HEAD: the size and digest its headers claim). */
function isRight(p: Pulled, row: Row, content: Content): boolean {
  const right = rightAnswer(row.kind, content);
  if (!accepted(p) || p.status !== right.status) return false;
  if (row.kind === 'head') return Number(p.headers['content-length']) === right.bytes.length && p.headers['docker-content-digest'] === right.digest;
  return sha256(p.body) === sha256(right.bytes);
}

function check(t: Test, row: Row, run: CellRun, cache: boolean, content: Content): void {
  const expect = inMode(row.expect, cache);
  run.pulls.forEach((p, i) => {
    t.ok(p.ms <= PULL_BOUND_MS, `pull ${i + 1} took ${p.ms} ms (bound ${PULL_BOUND_MS} ms)`);
    if (expect !== 'unchecked' && accepted(p))
      t.ok(isRight(p, row, content), `pull ${i + 1}: what the client accepted is right (${sha256(p.body).slice(0, 19)}…)`);
  });
  const first = run.pulls[0]!;
  if (expect === 'ok') t.ok(isRight(first, row, content), `the first pull gets the right answer (status ${first.status})`);
  if (expect === 'unchecked') t.ok(isRight(first, row, content), 'the first pull gets the right bytes', { todo: row.note ?? true });
  if (expect === 'cut') {
    t.notOk(accepted(first), `the first answer is cut, not completed (status ${first.status}, ${first.body.length} bytes)`);
    t.ok(isRight(run.pulls.at(-1)!, row, content), `a retry gets the right bytes (${run.pulls.length} pulls)`);
  }
  const reason = inMode(row.reason, cache);
  if (reason === '-') t.same(run.failovers, {}, 'nothing is charged to the faulty mirror');
  else if (reason.endsWith('?')) {
    // Charged with this reason, or with nothing when the fault was worked around before it showed.
    const only = reason.slice(0, -1);
    t.ok(
      Object.keys(run.failovers).every((r) => r === only),
      `charged as ${only} or not at all: ${JSON.stringify(run.failovers)}`,
    );
  } else t.ok((run.failovers[reason] ?? 0) >= 1, `charged to the faulty mirror as ${reason}: ${JSON.stringify(run.failovers)}`);
  const state = inMode(row.state, cache);
  if (state === 'any') return;
  t.equal(run.breakerState, state === 'closed' ? 0 : 2, `breaker ${state === 'closed' ? 'closed' : 'open'}`);
  t.equal(run.quarantined, state === 'quarantined' ? 1 : 0, state === 'quarantined' ? 'quarantined' : 'not quarantined');
}

export function runMatrix(cache: boolean): void {
  t.test(`fault matrix, ${cache ? 'with the cache' : 'relayed (no cache)'}`, async (t) => {
    const content = createContent();
    const good = await startFakeUpstream(contentMirror(content, 'none'));
    // Where the redirect fault points (127.0.0.1, an internal address): it must never be asked.
    const internal = await startFakeUpstream((_req, res) => void res.end('internal'));
    t.teardown(() => Promise.all([good.close(), internal.close()]));
    for (const fault of new Set(MATRIX.map((row) => row.fault))) {
      const rows = MATRIX.filter((row) => row.fault === fault);
      const runs = rows.map((row) =>
        inMode(row.expect, cache) === 'n/a'
          ? undefined
          : runCell(fault, row.kind, cache, content, good, internal).then(
              (run) => ({ run }),
              (error: unknown) => ({ error }),
            ),
      );
      for (const [i, row] of rows.entries()) {
        await t.test(`${fault} × ${row.kind}`, async (t) => {
          const settled = await runs[i];
          if (settled === undefined) return void t.pass(`n/a: ${row.note ?? ''}`);
          if ('error' in settled) throw settled.error;
          check(t, row, settled.run, cache, content);
        });
      }
    }
    t.equal(internal.requests.length, 0, 'the internal address a redirect named was never asked');
  });
}
