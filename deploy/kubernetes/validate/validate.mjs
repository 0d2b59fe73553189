// Validates Kubernetes manifests (the output of `kubectl kustomize <overlay>`) against the Kubernetes API schemas of
// the npm package kubernetes-models, plus a few checks that schemas cannot express.
//
//   kubectl kustomize deploy/kubernetes/overlays/dev | node validate.mjs [--external-secret NAME ...] [--name LABEL]
//       [--dump FILE]
//
// Fails (exit 1) when a document is not a Kubernetes object, when it has a field the API does not know (a misspelt
// name: the JSON schemas allow extra properties, the API server's strict field validation does not), when its
// apiVersion/kind is unknown to the schemas (a typo, or a kind we cannot check, such as a custom resource), when an
// object violates its schema, or when a cross-reference is broken: a Service, PodDisruptionBudget, Deployment or StatefulSet whose selector matches no pod
// template, an HPA or a StatefulSet's serviceName naming an object that is not there, a pod referring to a Secret,
// ConfigMap or ServiceAccount that is neither rendered nor named with --external-secret (secrets created outside
// kustomize, as in the prod overlay), or two objects with the same kind, namespace and name.
// Prints one line per object checked and a summary; errors go to stderr. --dump writes the objects as a JSON array,
// for checks of the settings themselves (tests/Deploy.Tests).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import * as models from "kubernetes-models";

const args = process.argv.slice(2);
const externalSecrets = new Set();
let label = "manifests";
let dumpFile = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--external-secret" && i + 1 < args.length) externalSecrets.add(args[++i]);
  else if (args[i] === "--name" && i + 1 < args.length) label = args[++i];
  else if (args[i] === "--dump" && i + 1 < args.length) dumpFile = args[++i];
  else {
    console.error(`validate.mjs: unknown argument ${args[i]}`);
    process.exit(2);
  }
}

// apiVersion + kind -> model class, from every group and version the package exports.
const classes = new Map();
function collect(namespace) {
  for (const value of Object.values(namespace)) {
    if (typeof value === "function" && typeof value.apiVersion === "string" && typeof value.kind === "string") {
      classes.set(`${value.apiVersion}/${value.kind}`, value);
    } else if (value && typeof value === "object") {
      collect(value);
    }
  }
}
collect(models);

// Field names per type, from the packages' TypeScript declarations (the compiled JSON-schema validators allow
// unknown properties): canonical interface name -> { field -> type text }, and apiVersion/kind -> interface.
const interfaces = new Map();
const rootInterfaces = new Map();
function readDeclarations(directory) {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) readDeclarations(path);
    else if (entry.name.endsWith(".d.ts")) parseDeclaration(readFileSync(path, "utf8"));
  }
}
function parseDeclaration(text) {
  const aliases = new Map();
  for (const match of text.matchAll(/^export \{ ([^}]+) \};$/gm)) {
    for (const pair of match[1].split(",")) {
      const [local, , canonical] = pair.trim().split(" ");
      if (canonical) aliases.set(local, canonical);
    }
  }
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const header = /^export interface (\w+)( extends TypeMeta)? \{$/.exec(lines[i]);
    if (!header) continue;
    const fields = header[2] ? { apiVersion: "string", kind: "string" } : {};
    let apiVersion = null;
    let kind = null;
    for (i++; i < lines.length && lines[i] !== "}"; i++) {
      const property = /^ {4}"([^"]+)"\??: (.*)$/.exec(lines[i]);
      if (!property) continue;
      let type = property[2];
      if (type === "{") {
        // A map: { [key: string]: T; }
        let valueType = "unknown";
        for (i++; i < lines.length && !/^ {4}\};$/.test(lines[i]); i++) {
          const value = /\[key: string\]: (.*);$/.exec(lines[i]);
          if (value) valueType = value[1];
        }
        type = `Map<${valueType}>`;
      } else {
        type = type.replace(/;$/, "");
      }
      if (property[1] === "apiVersion" && /^"[^"]+"$/.test(type)) apiVersion = type.slice(1, -1);
      if (property[1] === "kind" && /^"[^"]+"$/.test(type)) kind = type.slice(1, -1);
      fields[property[1]] = type;
    }
    const name = aliases.get(header[1]) ?? header[1];
    interfaces.set(name, fields);
    if (apiVersion && kind) rootInterfaces.set(`${apiVersion}/${kind}`, name);
  }
}
const modules = fileURLToPath(new URL("./node_modules/", import.meta.url));
readDeclarations(join(modules, "kubernetes-models"));
readDeclarations(join(modules, "@kubernetes-models", "apimachinery"));

function unknownFields(value, type, path, report) {
  if (value === null || value === undefined) return;
  let match;
  if ((match = /^Array<(.+)>$/.exec(type))) {
    if (Array.isArray(value)) value.forEach((item, index) => unknownFields(item, match[1], `${path}[${index}]`, report));
    return;
  }
  if ((match = /^Map<(.+)>$/.exec(type))) {
    if (typeof value === "object") for (const [key, item] of Object.entries(value)) unknownFields(item, match[1], `${path}.${key}`, report);
    return;
  }
  const fields = interfaces.get(type);
  if (!fields || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, item] of Object.entries(value)) {
    if (!(key in fields)) report(`${path ? path + "." : ""}${key}: unknown field`);
    else unknownFields(item, fields[key], `${path ? path + "." : ""}${key}`, report);
  }
}

const errors = [];
const error = (where, message) => errors.push(`${where}: ${message}`);

const text = readFileSync(0, "utf8");
const objects = [];
for (const [index, document] of parseAllDocuments(text).entries()) {
  if (document.errors.length > 0) {
    error(`document ${index + 1}`, `not valid YAML: ${document.errors.map((e) => e.message).join("; ")}`);
    continue;
  }
  const object = document.toJS();
  if (object === null || object === undefined) continue;
  objects.push(object);
}

const describe = (o) => `${o?.kind ?? "?"} ${o?.metadata?.namespace ? o.metadata.namespace + "/" : ""}${o?.metadata?.name ?? "?"}`;

// --- schemas -----------------------------------------------------------------------------------------------------
const seen = new Set();
for (const object of objects) {
  const where = describe(object);
  if (typeof object !== "object" || Array.isArray(object) || !object.apiVersion || !object.kind) {
    error(where, "not a Kubernetes object (apiVersion and kind are required)");
    continue;
  }
  if (!object.metadata?.name) error(where, "metadata.name is required");
  const key = `${object.kind}/${object.metadata?.namespace ?? ""}/${object.metadata?.name}`;
  if (seen.has(key)) error(where, "defined twice");
  seen.add(key);

  const Model = classes.get(`${object.apiVersion}/${object.kind}`);
  if (!Model) {
    error(where, `unknown apiVersion/kind ${object.apiVersion}/${object.kind}: no schema to validate it against`);
    continue;
  }
  // kustomize wraps long base64 values of Secrets over several lines; the API server's decoder (Go's base64)
  // ignores the line breaks, the schema's "byte" format does not: check the value without them.
  const checked =
    object.kind === "Secret" && object.data && typeof object.data === "object"
      ? { ...object, data: Object.fromEntries(Object.entries(object.data).map(([k, v]) => [k, typeof v === "string" ? v.replace(/[\r\n]/g, "") : v])) }
      : object;
  const before = errors.length;
  unknownFields(object, rootInterfaces.get(`${object.apiVersion}/${object.kind}`) ?? "", "", (message) => error(where, message));
  try {
    new Model(checked).validate();
    if (errors.length === before) console.log(`ok   ${object.apiVersion} ${where}`);
  } catch (e) {
    error(where, `schema violation: ${e.message}${e.errors ? " " + JSON.stringify(e.errors) : ""}`);
  }
}

// --- cross-references --------------------------------------------------------------------------------------------
const byKind = (kind) => objects.filter((o) => o?.kind === kind);
const podTemplates = [
  ...byKind("Deployment").map((o) => ({ owner: o, template: o.spec?.template })),
  ...byKind("StatefulSet").map((o) => ({ owner: o, template: o.spec?.template })),
];
const matches = (selector, labels) =>
  selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const sameNamespace = (a, b) => (a.metadata?.namespace ?? "") === (b.metadata?.namespace ?? "");
const exists = (kind, name, namespaceOf) =>
  objects.some((o) => o?.kind === kind && o.metadata?.name === name && sameNamespace(o, namespaceOf));

for (const { owner, template } of podTemplates) {
  const where = describe(owner);
  if (!matches(owner.spec?.selector?.matchLabels, template?.metadata?.labels)) {
    error(where, "spec.selector.matchLabels does not match the pod template's labels");
  }
  const spec = template?.spec ?? {};
  const secrets = new Set();
  const configMaps = new Set();
  for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    for (const env of container.env ?? []) {
      const secretRef = env.valueFrom?.secretKeyRef;
      if (secretRef && !secretRef.optional) secrets.add(secretRef.name);
      const configMapRef = env.valueFrom?.configMapKeyRef;
      if (configMapRef && !configMapRef.optional) configMaps.add(configMapRef.name);
    }
    for (const source of container.envFrom ?? []) {
      if (source.secretRef && !source.secretRef.optional) secrets.add(source.secretRef.name);
      if (source.configMapRef && !source.configMapRef.optional) configMaps.add(source.configMapRef.name);
    }
  }
  for (const volume of spec.volumes ?? []) {
    if (volume.secret && !volume.secret.optional) secrets.add(volume.secret.secretName);
    if (volume.configMap && !volume.configMap.optional) configMaps.add(volume.configMap.name);
  }
  for (const name of secrets) {
    if (!exists("Secret", name, owner) && !externalSecrets.has(name)) {
      error(where, `refers to Secret ${name}, which is neither rendered nor declared external (--external-secret)`);
    }
  }
  for (const name of configMaps) {
    if (!exists("ConfigMap", name, owner)) error(where, `refers to ConfigMap ${name}, which is not rendered`);
  }
  const account = spec.serviceAccountName;
  if (account && account !== "default" && !exists("ServiceAccount", account, owner)) {
    error(where, `refers to ServiceAccount ${account}, which is not rendered`);
  }
  if (owner.kind === "StatefulSet" && owner.spec?.serviceName && !exists("Service", owner.spec.serviceName, owner)) {
    error(where, `spec.serviceName ${owner.spec.serviceName} names no rendered Service`);
  }
}

for (const service of byKind("Service")) {
  const selector = service.spec?.selector;
  if (!selector) continue;
  if (!podTemplates.some(({ owner, template }) => sameNamespace(owner, service) && matches(selector, template?.metadata?.labels))) {
    error(describe(service), "spec.selector matches no pod template");
  }
  for (const port of service.spec?.ports ?? []) {
    if (typeof port.targetPort !== "string") continue;
    const named = podTemplates.some(({ owner, template }) =>
      sameNamespace(owner, service) &&
      matches(selector, template?.metadata?.labels) &&
      (template?.spec?.containers ?? []).some((c) => (c.ports ?? []).some((p) => p.name === port.targetPort)));
    if (!named) error(describe(service), `targetPort ${port.targetPort} names no container port of the selected pods`);
  }
}

for (const budget of byKind("PodDisruptionBudget")) {
  const selector = budget.spec?.selector?.matchLabels;
  if (!podTemplates.some(({ owner, template }) => sameNamespace(owner, budget) && matches(selector, template?.metadata?.labels))) {
    error(describe(budget), "spec.selector matches no pod template");
  }
}

for (const autoscaler of byKind("HorizontalPodAutoscaler")) {
  const target = autoscaler.spec?.scaleTargetRef;
  if (!target || !exists(target.kind, target.name, autoscaler)) {
    error(describe(autoscaler), `scaleTargetRef ${target?.kind} ${target?.name} is not rendered`);
  }
}

if (objects.length === 0) error(label, "no objects");
if (dumpFile) writeFileSync(dumpFile, JSON.stringify(objects, null, 2));

if (errors.length > 0) {
  for (const e of errors) console.error(`error: ${label}: ${e}`);
  console.error(`${label}: ${errors.length} error(s) in ${objects.length} object(s)`);
  process.exit(1);
}
console.log(`${label}: ${objects.length} object(s) valid`);
