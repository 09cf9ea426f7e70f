import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';

/**
 * The k8s/ manifests as kustomize renders them (resources followed recursively, the namespace
 * applied), each validated offline against the Kubernetes and KEDA schemas of kubernetes-models.
 */
const K8S = resolve(__dirname, '../../../k8s');

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

function readYaml(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((document) => document.toJS() as unknown).filter(Boolean);
}

/** What `kubectl kustomize <dir>` puts out, for the features k8s/ uses (resources, namespace). */
function render(dir: string): Manifest[] {
  const [kustomization] = readYaml(join(dir, 'kustomization.yaml')) as Array<{ resources: string[]; namespace?: string }>;
  return kustomization!.resources.flatMap((resource) => {
    const path = resolve(dir, resource);
    const manifests = resource.endsWith('.yaml') ? (readYaml(path) as Manifest[]) : render(path);
    return manifests.map((manifest) =>
      kustomization!.namespace && manifest.kind !== 'Namespace' ? { ...manifest, metadata: { ...manifest.metadata, namespace: kustomization!.namespace } } : manifest,
    );
  });
}

const base = render(K8S);
const withKeda = render(join(K8S, 'keda'));
const find = (manifests: Manifest[], kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);
type PodTemplate = { metadata: { annotations?: Record<string, string> }; spec: { containers: Array<{ env?: Array<{ name: string; value?: string }>; ports?: Array<{ containerPort: number }> }> } };
const templateOf = (manifest: Manifest | undefined) => (manifest!.spec as { template: PodTemplate }).template;

describe('k8s manifests', () => {
  it.each(withKeda.map((manifest) => [`${manifest.kind}/${manifest.metadata.name}`, manifest] as const))('%s is valid against its schema', (_name, manifest) => {
    const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
    expect([manifest.kind, Model === undefined]).toEqual([manifest.kind, false]);
    expect(() => new Model!(manifest as never).validate()).not.toThrow();
  });

  it('scrapes every pod that exports metrics: servers on their HTTP port, workers on METRICS_PORT', () => {
    for (const [name, port] of [['server', '5000'], ['worker-normal', '9464'], ['worker-big', '9464']] as const) {
      const template = templateOf(find(base, 'Deployment', name));
      expect([name, template.metadata.annotations]).toEqual([name, expect.objectContaining({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': port, 'prometheus.io/path': '/metrics' })]);
      expect(template.spec.containers[0]!.ports).toContainEqual(expect.objectContaining({ containerPort: Number(port) }));
      if (name !== 'server') expect(template.spec.containers[0]!.env).toContainEqual({ name: 'METRICS_PORT', value: port });
    }
  });

  it('scales each worker lane on its own queue with KEDA, in an overlay of its own', () => {
    expect(base.some((manifest) => manifest.kind === 'ScaledObject')).toBe(false);
    for (const lane of ['normal', 'big']) {
      const scaled = find(withKeda, 'ScaledObject', `worker-${lane}`) as Manifest & { spec: { scaleTargetRef: { name: string }; triggers: Array<{ type: string; metadata: Record<string, string> }> } };
      expect(scaled.spec.scaleTargetRef.name).toBe(`worker-${lane}`);
      expect(find(withKeda, 'Deployment', `worker-${lane}`)).toBeDefined();
      const redis = scaled.spec.triggers.find((trigger) => trigger.type === 'redis')!;
      const prefix = (find(base, 'ConfigMap', 'image-cloud-env') as Manifest & { data: Record<string, string> }).data['QUEUE_PREFIX'];
      expect(redis.metadata['listName']).toBe(`${prefix}:render-${lane}:wait`);
      const prometheus = scaled.spec.triggers.find((trigger) => trigger.type === 'prometheus')!;
      expect(prometheus.metadata['query']).toContain(`queue="render-${lane}"`);
    }
  });
});
