import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

/** docker/compose.yaml and the Prometheus it runs, read as data (the stack itself runs with Docker, outside npm test). */
const DOCKER = resolve(__dirname, '../../../docker');

interface ComposeService {
  image?: string;
  build?: unknown;
  ports?: string[];
  expose?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: unknown;
}

const compose = parse(readFileSync(resolve(DOCKER, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const prometheus = parse(readFileSync(resolve(DOCKER, 'prometheus/prometheus.yml'), 'utf8')) as {
  scrape_configs: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; port: number; type: string }> }>;
};
const services = compose.services;

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
});
