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
import { loadConfig } from '@image-cloud/config';

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

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
/** Lists of these keys merge item by item on `name`, as Kubernetes' strategic merge patch does. */
const MERGED_BY_NAME = new Set(['containers', 'initContainers', 'volumes', 'env', 'volumeMounts']);

/** A strategic merge patch, for what k8s-s3/ uses: maps merge, null removes a key, named lists merge by name. */
function strategicMerge(target: unknown, patch: unknown): unknown {
  if (!isObject(target) || !isObject(patch)) return patch;
  const merged: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else if (MERGED_BY_NAME.has(key) && Array.isArray(value) && Array.isArray(merged[key])) {
      const items = [...(merged[key] as Array<{ name: string }>)];
      for (const item of value as Array<{ name: string }>) {
        const at = items.findIndex((existing) => existing.name === item.name);
        if (at < 0) items.push(item);
        else items[at] = strategicMerge(items[at], item) as { name: string };
      }
      merged[key] = items;
    } else merged[key] = strategicMerge(merged[key], value);
  }
  return merged;
}

/** What `kubectl kustomize <dir>` puts out, for the features k8s/ and k8s-s3/ use (resources, namespace, patches). */
function render(dir: string): Manifest[] {
  const [kustomization] = readYaml(join(dir, 'kustomization.yaml')) as Array<{ resources: string[]; namespace?: string; patches?: Array<{ path: string }> }>;
  let manifests = kustomization!.resources.flatMap((resource) => {
    const path = resolve(dir, resource);
    const manifests = resource.endsWith('.yaml') ? (readYaml(path) as Manifest[]) : render(path);
    return manifests.map((manifest) =>
      kustomization!.namespace && manifest.kind !== 'Namespace' ? { ...manifest, metadata: { ...manifest.metadata, namespace: kustomization!.namespace } } : manifest,
    );
  });
  for (const { path } of kustomization!.patches ?? []) {
    for (const patch of readYaml(join(dir, path)) as Array<Manifest & { $patch?: string }>) {
      const target = manifests.findIndex((manifest) => manifest.kind === patch.kind && manifest.metadata.name === patch.metadata.name);
      if (target < 0) throw new Error(`${path}: no ${patch.kind}/${patch.metadata.name} to patch`);
      if (patch.$patch === 'delete') manifests = manifests.filter((_manifest, index) => index !== target);
      else manifests[target] = strategicMerge(manifests[target], patch) as Manifest;
    }
  }
  return manifests;
}

const base = render(K8S);
const withKeda = render(resolve(K8S, '../k8s-keda'));
const withS3 = render(resolve(K8S, '../k8s-s3'));
const find = (manifests: Manifest[], kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);
type PodTemplate = { metadata: { annotations?: Record<string, string> }; spec: { containers: Array<{ env?: Array<{ name: string; value?: string }>; ports?: Array<{ containerPort: number }> }> } };
const templateOf = (manifest: Manifest | undefined) => (manifest!.spec as { template: PodTemplate }).template;

describe('k8s manifests', () => {
  it.each([...withKeda, ...withS3.filter((manifest) => manifest.metadata.name.includes('s3') || manifest.kind === 'Deployment' || manifest.kind === 'ConfigMap')].map((manifest) => [`${manifest.kind}/${manifest.metadata.name}`, manifest] as const))('%s is valid against its schema', (_name, manifest) => {
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

  describe('the S3 overlay (k8s-s3/)', () => {
    type Volume = { name: string; persistentVolumeClaim?: unknown; emptyDir?: unknown };
    type Container = { envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }> };
    const podSpecOf = (manifests: Manifest[], name: string) => (find(manifests, 'Deployment', name)!.spec as { template: { spec: { volumes: Volume[]; containers: Container[] } } }).template.spec;
    const dataOf = (manifests: Manifest[], name: string) => podSpecOf(manifests, name).volumes.find((volume) => volume.name === 'data');
    const environmentOf = (manifests: Manifest[]) => (find(manifests, 'ConfigMap', 'image-cloud-env') as Manifest & { data: Record<string, string> }).data;

    it('needs no PersistentVolumeClaim: DATA_DIR is an emptyDir holding only the cache tier', () => {
      expect(base.filter((manifest) => manifest.kind === 'PersistentVolumeClaim')).toHaveLength(1);
      expect(withS3.filter((manifest) => manifest.kind === 'PersistentVolumeClaim')).toEqual([]);
      for (const name of ['server', 'worker-normal', 'worker-big']) {
        expect([name, dataOf(base, name)!.persistentVolumeClaim]).toEqual([name, { claimName: 'image-data' }]);
        expect([name, dataOf(withS3, name)]).toEqual([name, { name: 'data', emptyDir: { sizeLimit: '3Gi' } }]);
      }
    });

    it('gives every pod the storage settings from the ConfigMap and the AWS_* credentials from a Secret', () => {
      const secret = find(withS3, 'Secret', 'image-cloud-s3-credentials') as Manifest & { stringData: Record<string, string> };
      expect(Object.keys(secret.stringData).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
      for (const name of ['server', 'worker-normal', 'worker-big']) {
        expect([name, podSpecOf(withS3, name).containers[0]!.envFrom]).toEqual([name, [{ configMapRef: { name: 'image-cloud-env' } }, { secretRef: { name: 'image-cloud-s3-credentials' } }]]);
      }
      // The environment the pods get, through the config lib: S3 storage, and the base keeps the local directory.
      const environment = environmentOf(withS3);
      expect(environment['QUEUE_PREFIX']).toBe(environmentOf(base)['QUEUE_PREFIX']);
      expect(loadConfig({ ...environment, ...secret.stringData, CONFIG: undefined }).storage).toEqual({ kind: 's3', bucket: 'images', region: 'eu-central-1', forcePathStyle: false, cacheBytes: 2 * 1024 ** 3 });
      expect(loadConfig({ ...environmentOf(base), CONFIG: undefined }).storage).toEqual({ kind: 'local' });
      // The host cache fits its emptyDir.
      expect(Number(environment['STORAGE_CACHE_BYTES'])).toBeLessThan(3 * 1024 ** 3);
    });
  });
});
