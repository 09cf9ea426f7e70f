import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '@image-cloud/config';

/** docker/compose.yaml and the Prometheus it runs, read as data (the stack itself runs with Docker, outside npm test). */
const DOCKER = resolve(__dirname, '../../../docker');

interface ComposeService {
  image?: string;
  build?: unknown;
  ports?: string[];
  expose?: string[];
  environment?: Record<string, string>;
  profiles?: string[];
  entrypoint?: string[];
  healthcheck?: { test: string[] };
  depends_on?: unknown;
}

const compose = parse(readFileSync(resolve(DOCKER, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const prometheus = parse(readFileSync(resolve(DOCKER, 'prometheus/prometheus.yml'), 'utf8')) as {
  scrape_configs: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; port: number; type: string }> }>;
};
const services = compose.services;
const APP_ROLES = ['server', 'worker-normal', 'worker-big'];
const STORAGE_VARIABLES = ['STORAGE_KIND', 'S3_BUCKET', 'S3_ENDPOINT', 'S3_REGION', 'S3_FORCE_PATH_STYLE', 'S3_PREFIX', 'STORAGE_CACHE_BYTES', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

/** Compose's `${NAME:-default}` / `${NAME}` substitution, for the forms compose.yaml uses. */
function substitute(value: string, variables: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_all, name: string, fallback?: string) => variables[name] || (fallback ?? ''));
}
/** A role's environment as its process sees it when compose runs with `variables` (an --env-file). */
const environmentOf = (role: string, variables: Record<string, string>) =>
  Object.fromEntries(Object.entries(services[role]!.environment!).map(([name, value]) => [name, substitute(String(value), variables)]));
/** KEY=value lines, # comments. */
const readEnvFile = (path: string) =>
  Object.fromEntries(readFileSync(path, 'utf8').split('\n').filter((line) => /^[A-Z]/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));

describe('the compose stack', () => {
  it('builds the one image once: a single service builds it, every role runs that tag', () => {
    const builders = Object.entries(services).filter(([, service]) => service.build !== undefined);
    expect(builders.map(([name]) => name)).toEqual(['server']);
    for (const role of ['server', 'worker-normal', 'worker-big']) expect([role, services[role]!.image]).toEqual([role, 'image-cloud:dev']);
  });

  it('has one stable front door on port 5000, health-checked, and no server publishes a host port', () => {
    expect(services['front']!.ports).toEqual(['${IMAGE_CLOUD_PORT:-5000}:5000']);
    expect(services['front']!.healthcheck!.test.join(' ')).toContain('/haproxy-health');
    expect(services['server']!.ports).toBeUndefined();
    const haproxy = readFileSync(resolve(DOCKER, 'haproxy/haproxy.cfg'), 'utf8');
    expect(haproxy).toMatch(/^\s*server-template server \d+ server:5000$/m);
    expect(haproxy).toMatch(/^\s*option httpchk GET \/readyz$/m);
    expect(haproxy).toMatch(/^\s*nameserver docker 127\.0\.0\.11:53$/m);
  });

  it('lets Prometheus discover every server and worker replica by DNS, on the ports they serve /metrics on', () => {
    const discovered = new Map(prometheus.scrape_configs.flatMap((job) => (job.dns_sd_configs ?? []).flatMap((sd) => sd.names.map((name) => [name, sd.port] as const))));
    expect(Object.fromEntries(discovered)).toEqual({ server: 5000, 'worker-normal': 9464, 'worker-big': 9464 });
    expect(services['server']!.environment!['PORT']).toBe('5000');
    for (const worker of ['worker-normal', 'worker-big']) {
      expect([worker, services[worker]!.environment!['METRICS_PORT']]).toEqual([worker, '9464']);
      expect(services[worker]!.expose).toEqual(['9464']);
    }
  });

  it('provisions the dashboards and the datasource they use', () => {
    const datasources = parse(readFileSync(resolve(DOCKER, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: Array<{ uid: string; url: string }> };
    expect(datasources.datasources).toContainEqual(expect.objectContaining({ uid: 'prometheus', url: 'http://prometheus:9090' }));
    const dashboard = JSON.parse(readFileSync(resolve(DOCKER, 'grafana/dashboards/image-cloud.json'), 'utf8')) as { templating: { list: Array<{ name: string; current?: { value: string } }> } };
    expect(dashboard.templating.list.find((variable) => variable.name === 'datasource')!.current!.value).toBe('prometheus');
  });

  describe('storage', () => {
    it('passes every storage variable to every role, empty unless set', () => {
      for (const role of APP_ROLES) {
        for (const name of STORAGE_VARIABLES) expect([role, services[role]!.environment![name]]).toEqual([role, `\${${name}:-}`]);
        expect(services[role]!.profiles).toBeUndefined();
      }
    });

    it('stores images in DATA_DIR when nothing is set, the config lib reading the empty variables as unset', () => {
      for (const role of APP_ROLES) expect([role, loadConfig({ ...environmentOf(role, {}), CONFIG: undefined }).storage]).toEqual([role, { kind: 'local' }]);
    });

    it('points every role at the MinIO bucket with docker/s3.example.env', () => {
      const variables = readEnvFile(resolve(DOCKER, 's3.example.env'));
      for (const role of APP_ROLES) {
        const environment = environmentOf(role, variables);
        expect([role, loadConfig({ ...environment, CONFIG: undefined }).storage]).toEqual([
          role,
          expect.objectContaining({ kind: 's3', bucket: 'images', endpoint: 'http://minio:9000', forcePathStyle: true }),
        ]);
        expect(environment['AWS_ACCESS_KEY_ID']).toBe(variables['AWS_ACCESS_KEY_ID']);
      }
      // MinIO's root user is the app's credentials, and the init step makes the app's bucket.
      const minio = services['minio']!;
      expect(substitute(minio.environment!['MINIO_ROOT_USER']!, variables)).toBe(variables['AWS_ACCESS_KEY_ID']);
      expect(substitute(minio.environment!['MINIO_ROOT_PASSWORD']!, variables)).toBe(variables['AWS_SECRET_ACCESS_KEY']);
      expect(variables['AWS_SECRET_ACCESS_KEY']!.length).toBeGreaterThanOrEqual(8);
      expect(new URL(variables['S3_ENDPOINT']!).host).toBe('minio:9000');
      const init = services['minio-init']!;
      expect(substitute(init.environment!['S3_BUCKET']!, variables)).toBe('images');
      expect(substitute(init.environment!['MC_HOST_store']!, variables)).toBe(`http://${variables['AWS_ACCESS_KEY_ID']}:${variables['AWS_SECRET_ACCESS_KEY']}@minio:9000`);
      expect(init.entrypoint!.join(' ')).toContain('mc mb --ignore-existing "store/$$S3_BUCKET"');
      expect(init.depends_on).toEqual({ minio: { condition: 'service_healthy' } });
    });

    it('runs MinIO and its init step only under the s3 profile, on pinned image tags', () => {
      const profiled = Object.entries(services).filter(([, service]) => service.profiles !== undefined);
      expect(Object.fromEntries(profiled.map(([name, service]) => [name, service.profiles]))).toEqual({ minio: ['s3'], 'minio-init': ['s3'] });
      expect(services['minio']!.image).toMatch(/^minio\/minio:RELEASE\./);
      expect(services['minio-init']!.image).toMatch(/^minio\/mc:RELEASE\./);
    });
  });
});
