// Runs Backstage's GithubEntityProvider (@backstage/plugin-catalog-backend-module-github,
// pinned in package.json) once against the fake GHE that
// `glint-github-app-bench serve-fakes` serves, and prints one JSON line:
// what it discovered, how long refresh() took and the process's peak RSS.
//
// It is started by `glint-github-app-bench backstage` (make bench-backstage),
// which also counts the GHE requests on the fake's side. Settings, from the
// environment:
//   GHE_URL           the fake GHE, http://127.0.0.1:PORT
//   APP_ID            the GitHub App id
//   CREDENTIALS_FILE  serve-fakes' credentials file (JSON with privateKeyPEM)
//   ORGS              the organizations, comma-separated (MODE=orgs)
//   MODE              app: one provider for every installation of the app
//                     (Backstage reads the organizations one after another);
//                     orgs: one provider per organization, all refreshed at
//                     once (Backstage's best case)
//   PAGE_SIZE         repositories per GraphQL page; default 100, its best setting
import { readFileSync } from 'node:fs';
import { ConfigReader } from '@backstage/config';
import { GithubEntityProvider } from '@backstage/plugin-catalog-backend-module-github';

const env = (name, def) => {
  const v = process.env[name] ?? def;
  if (v === undefined) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return v;
};

const started = performance.now();
const gheURL = new URL(env('GHE_URL'));
const appId = Number(env('APP_ID'));
const { privateKeyPEM } = JSON.parse(readFileSync(env('CREDENTIALS_FILE'), 'utf8'));
const mode = env('MODE', 'app');
const pageSize = Number(env('PAGE_SIZE', '100'));
const orgs = env('ORGS', '').split(',').filter(Boolean);
const host = gheURL.host;

// A LoggerService stand-in: counts warnings, prints errors.
const counts = { warn: 0, error: 0 };
const logger = {
  debug() {},
  info() {},
  warn() { counts.warn++; },
  error(msg, err) { counts.error++; console.error(`backstage: ${msg}`, err ?? ''); },
  child() { return logger; },
};

const common = {
  host,
  catalogPath: '/glint.yml',
  pageSizes: { repositories: pageSize },
  // Emit only repositories that hold the file, as glint-github-app reads only those.
  validateLocationsExist: true,
};
const providers =
  mode === 'app'
    ? { all: { ...common, app: appId } }
    : Object.fromEntries(orgs.map((o) => [o, { ...common, organization: o }]));
if (mode !== 'app' && orgs.length === 0) {
  console.error('MODE=orgs needs ORGS');
  process.exit(2);
}

const config = new ConfigReader({
  integrations: {
    github: [
      {
        host,
        apiBaseUrl: `${gheURL.origin}/api/v3`,
        apps: [
          {
            appId,
            privateKey: privateKeyPEM,
            // Required by the config schema; the provider does not use them.
            clientId: 'unused',
            clientSecret: 'unused',
            webhookSecret: 'unused',
          },
        ],
      },
    ],
  },
  catalog: { providers: { github: providers } },
});

// A manual schedule: connect() registers the task, refresh() below runs it.
const schedule = { run: async () => {} };
const instances = GithubEntityProvider.fromConfig(config, { logger, schedule });

let entities = 0;
let mutations = 0;
const connection = {
  async applyMutation(m) {
    mutations++;
    entities += m.type === 'full' ? m.entities.length : m.added.length;
  },
  async refresh() {},
};
for (const p of instances) {
  await p.connect(connection);
}

const t0 = performance.now();
await Promise.all(instances.map((p) => p.refresh(logger)));
const refreshMs = performance.now() - t0;

console.log(
  JSON.stringify({
    tool: 'backstage',
    package: '@backstage/plugin-catalog-backend-module-github@0.14.0',
    mode,
    providers: instances.length,
    pageSize,
    entities,
    mutations,
    refreshSeconds: refreshMs / 1000,
    processSeconds: (performance.now() - started) / 1000,
    maxRssKiB: process.resourceUsage().maxRSS,
    warnings: counts.warn,
    errors: counts.error,
  }),
);
