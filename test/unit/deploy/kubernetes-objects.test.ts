/**
 * deploy/kubernetes/ without a cluster and without kubectl: each kustomization is built here
 * (its `resources`, files or kustomization directories, and `$patch: delete` patches, the only
 * features they use; anything else fails the build), every object is validated against the
 * Kubernetes JSON schema (kubernetes-models, offline), and the objects are checked against each
 * other: selectors match the pods, the autoscaler targets the Deployment, the ports are the
 * config's, the config in the ConfigMap is valid. The example Secret is kept out of every build.
 * Where kubectl is installed, `kubectl kustomize` must produce the same objects.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import { findExecutable } from '../../e2e/helpers/tools.js';

const ROOT = fileURLToPath(new URL('../../../deploy/kubernetes/', import.meta.url));
const KUSTOMIZATIONS = ['base', 'overlays/monitoring', 'overlays/node-local'];

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

const idOf = (o: Pick<K8sObject, 'apiVersion' | 'kind' | 'metadata'>): string => `${o.apiVersion}/${o.kind}/${o.metadata.name}`;

function readObjects(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    return doc.toJS() as K8sObject;
  });
}

/** The objects a kustomization directory produces, and every file it read. */
function build(dir: string, files: Set<string>): K8sObject[] {
  const file = join(dir, 'kustomization.yaml');
  files.add(file);
  const k = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const unknown = Object.keys(k).filter((key) => !['apiVersion', 'kind', 'resources', 'patches'].includes(key));
  if (unknown.length > 0) throw new Error(`${file}: this test's build does not know ${unknown.join(', ')}`);
  if (k['kind'] !== 'Kustomization') throw new Error(`${file}: kind is not Kustomization`);
  let objects: K8sObject[] = [];
  for (const entry of k['resources'] as string[]) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new Error(`${file}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) objects.push(...build(path, files));
    else {
      files.add(path);
      objects.push(...readObjects(path));
    }
  }
  for (const { patch } of (k['patches'] ?? []) as { patch: string }[]) {
    const target = parse(patch) as K8sObject & { $patch?: string };
    if (target.$patch !== 'delete') throw new Error(`${file}: only "$patch: delete" patches are understood here`);
    const before = objects.length;
    objects = objects.filter((o) => idOf(o) !== idOf(target));
    if (objects.length !== before - 1) throw new Error(`${file}: the delete patch of ${idOf(target)} matches no object`);
  }
  const ids = objects.map(idOf);
  const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (twice.length > 0) throw new Error(`${file}: ${twice.join(', ')} more than once`);
  return objects;
}

/** The kubernetes-models class for an object's apiVersion and kind (its module is named by them). */
async function modelOf(o: K8sObject): Promise<{ validate(): void }> {
  const module =
    o.apiVersion === 'monitoring.coreos.com/v1'
      ? `@kubernetes-models/prometheus-operator/${o.apiVersion}/${o.kind}`
      : `kubernetes-models/${o.apiVersion}/${o.kind}`;
  const exports = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = exports[o.kind];
  if (Model === undefined) throw new Error(`${module} has no ${o.kind}`);
  return new Model(o);
}

const builds = new Map<string, K8sObject[]>();
const read = new Set<string>();
for (const name of KUSTOMIZATIONS) builds.set(name, build(join(ROOT, name), read));

const find = (objects: K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);
const one = (objects: K8sObject[], kind: string): K8sObject => {
  const found = find(objects, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
};
const get = (o: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], o);

t.test('every object of every build is schema-valid, and so is the example Secret', async (t) => {
  const all = [...builds.entries()].flatMap(([name, objects]) => objects.map((o) => ({ where: name, o })));
  all.push(...readObjects(join(ROOT, 'secret.example.yaml')).map((o) => ({ where: 'secret.example.yaml', o })));
  for (const { where, o } of all) {
    const model = await modelOf(o);
    t.doesNotThrow(() => model.validate(), `${where}: ${idOf(o)}`);
  }
  const broken = await modelOf({ ...one(builds.get('base')!, 'Service'), spec: { ports: [{ port: 'five thousand' }] } });
  t.throws(() => broken.validate(), /must be integer/, 'a wrong type fails the schema: the check above can fail');
});

t.test('the builds hold what they should; the example Secret is in none', async (t) => {
  const base = builds.get('base')!;
  t.same(base.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget', 'Service']);
  t.same(
    builds.get('overlays/monitoring')!.map(idOf).sort(),
    [...base.map(idOf), 'monitoring.coreos.com/v1/ServiceMonitor/mirrorgate'].sort(),
    'monitoring = base + the ServiceMonitor',
  );
  t.same(
    builds
      .get('overlays/node-local')!
      .map((o) => o.kind)
      .sort(),
    ['ConfigMap', 'DaemonSet'],
  );
  for (const [name, objects] of builds) t.same(find(objects, 'Secret'), [], `${name}: no Secret`);

  const manifests = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? manifests(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : [],
    );
  const unused = manifests(ROOT)
    .filter((file) => !read.has(file))
    .map((file) => relative(ROOT, file));
  t.same(unused, ['secret.example.yaml'], 'every manifest but the example Secret is part of a build');
});

t.test('the base fits together', async (t) => {
  const base = builds.get('base')!;
  const deployment = one(base, 'Deployment');
  const podLabels = get(deployment, 'spec.template.metadata.labels') as Record<string, string>;
  const selects = (selector: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
  t.ok(selects(get(one(base, 'Service'), 'spec.selector') as Record<string, string>), 'the Service selects the pods');
  t.ok(selects(get(one(base, 'PodDisruptionBudget'), 'spec.selector.matchLabels') as Record<string, string>), 'the PDB selects the pods');
  t.ok(selects(get(one(base, 'NetworkPolicy'), 'spec.podSelector.matchLabels') as Record<string, string>), 'the NetworkPolicy selects the pods');
  t.same(get(one(base, 'HorizontalPodAutoscaler'), 'spec.scaleTargetRef'), { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
  t.equal(get(deployment, 'spec.replicas'), undefined, 'no replicas: the autoscaler owns them');

  const configMap = one(base, 'ConfigMap');
  const text = (configMap as unknown as { data: Record<string, string> }).data['mirrorgate.yaml']!;
  const config = parseConfig(text, '/etc/mirrorgate/mirrorgate.yaml', { NEXUS_USERNAME: 'u', NEXUS_PASSWORD: 'p' });
  const [container] = get(deployment, 'spec.template.spec.containers') as { ports: { containerPort: number }[] }[];
  t.equal(container!.ports[0]!.containerPort, config.listen[0]!.port, "the container port is the config's listen port");
  const policyPorts = (get(one(base, 'NetworkPolicy'), 'spec.ingress') as { ports: { port: number }[] }[]).flatMap((rule) => rule.ports.map((p) => p.port));
  t.ok(policyPorts.includes(config.listen[0]!.port), 'the NetworkPolicy lets that port in');
  const volumes = get(deployment, 'spec.template.spec.volumes') as { name: string; ephemeral?: unknown }[];
  t.ok(
    volumes.some((v) => v.name === 'cache' && v.ephemeral !== undefined),
    'the cache is a volume claim per pod',
  );
  t.equal(config.cache?.dir, '/var/cache/mirrorgate');
});

t.test("the node-local DaemonSet listens where its probes and the nodes' hosts.toml look", async (t) => {
  const objects = builds.get('overlays/node-local')!;
  const daemonSet = one(objects, 'DaemonSet');
  t.equal(get(daemonSet, 'spec.template.spec.hostNetwork'), true);
  const [container] = get(daemonSet, 'spec.template.spec.containers') as { env: { name: string; value: string }[]; readinessProbe: unknown }[];
  const listen = container!.env.find((e) => e.name === 'MIRRORGATE_LISTEN')!.value;
  const text = (one(objects, 'ConfigMap') as unknown as { data: Record<string, string> }).data['mirrorgate.yaml']!;
  const config = parseConfig(
    text,
    '/etc/mirrorgate/mirrorgate.yaml',
    { NEXUS_USERNAME: 'u', NEXUS_PASSWORD: 'p' },
    { listen: { value: listen, from: 'MIRRORGATE_LISTEN' } },
  );
  t.same(config.listen, [{ host: '127.0.0.1', port: 5000 }]);
  t.same(get(container, 'readinessProbe.httpGet'), { host: '127.0.0.1', path: '/readyz', port: 5000 });
  t.match(readFileSync(join(ROOT, 'nodes/hosts.toml'), 'utf8'), /^\[host\."http:\/\/127\.0\.0\.1:5000"\]$/m, 'hosts.toml points containerd there');
});

const kubectl = findExecutable('kubectl');
t.test('kubectl kustomize builds the same objects', { skip: kubectl === undefined ? 'kubectl is not installed' : false }, async (t) => {
  const run = promisify(execFile);
  for (const [name, objects] of builds) {
    const { stdout } = await run(kubectl!, ['kustomize', join(ROOT, name)], { timeout: 60_000, cwd: dirname(ROOT) });
    const theirs = parseAllDocuments(stdout).map((doc) => doc.toJS() as K8sObject);
    t.same(theirs.map(idOf).sort(), objects.map(idOf).sort(), name);
  }
});
