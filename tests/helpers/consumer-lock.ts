// A package-lock.json for a project that depends only on a packed sessionrec tarball, derived from the repository's
// own lock, so that `npm install --offline <tarball>` there needs nothing but the tarballs `npm ci` put in the npm
// cache. Without it npm would ask the registry for every dependency's metadata (its version ranges must be resolved),
// which `npm ci` never caches: the repository's lock pins versions and integrities but records no tarball URLs.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

interface LockEntry {
  version?: string;
  name?: string;
  resolved?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

interface Manifest {
  name: string;
  version: string;
  license?: string;
  engines?: Record<string, string>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const REGISTRY = "https://registry.npmjs.org";
const MODULES = "node_modules/";

/** The lock path `name` resolves to from the package at `from` ("" = the root), as Node walks up node_modules. */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let base = from; ;) {
    const candidate = base === "" ? `${MODULES}${name}` : `${base}/${MODULES}${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (base === "") return undefined;
    const parent = base.lastIndexOf(`/${MODULES}`);
    base = parent < 0 ? "" : base.slice(0, parent);
  }
}

/** Every lock path the package's run-time dependencies (optional ones and required peers included) reach. */
function runtimeClosure(packages: Record<string, LockEntry>, manifest: Manifest): string[] {
  const seen = new Set<string>();
  const pending: string[] = [];
  const visit = (from: string, names: string[]) => {
    for (const name of names) {
      const found = resolveIn(packages, from, name);
      if (found !== undefined && !seen.has(found)) {
        seen.add(found);
        pending.push(found);
      }
    }
  };
  visit("", [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})]);
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    const entry = packages[path];
    const peers = Object.keys(entry.peerDependencies ?? {}).filter(
      (peer) => !entry.peerDependenciesMeta?.[peer]?.optional,
    );
    visit(path, [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...peers]);
  }
  return [...seen].sort();
}

/** The registry URL of a locked package's tarball: the npm cache's key for it. */
function tarballUrl(path: string, entry: LockEntry): string {
  const name = entry.name ?? path.slice(path.lastIndexOf(MODULES) + MODULES.length);
  return `${REGISTRY}/${name}/-/${name.split("/").pop()}-${entry.version}.tgz`;
}

/**
 * The package.json and package-lock.json of a project named `project` depending on `tarball` (a path relative to
 * the project), the packed form of the package whose manifest and lock are given.
 */
export function consumerProject(
  project: string,
  tarball: { spec: string; file: string },
  repo: { manifestFile: string; lockFile: string },
): { manifest: object; lock: object } {
  const manifest = JSON.parse(readFileSync(repo.manifestFile, "utf8")) as Manifest;
  const lock = JSON.parse(readFileSync(repo.lockFile, "utf8")) as { packages: Record<string, LockEntry> };
  const spec = `file:${tarball.spec}`;
  const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball.file)).digest("base64")}`;
  const packages: Record<string, object> = {
    "": { name: project, dependencies: { [manifest.name]: spec } },
    [`${MODULES}${manifest.name}`]: {
      version: manifest.version,
      resolved: spec,
      integrity,
      license: manifest.license,
      dependencies: manifest.dependencies,
      optionalDependencies: manifest.optionalDependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const path of runtimeClosure(lock.packages, manifest)) {
    const { dev: _dev, devOptional: _devOptional, ...entry } = lock.packages[path];
    packages[path] = { ...entry, resolved: entry.resolved ?? tarballUrl(path, entry) };
  }
  return {
    manifest: { name: project, private: true, type: "module", dependencies: { [manifest.name]: spec } },
    lock: { name: project, lockfileVersion: 3, requires: true, packages },
  };
}
