// Validates Gateway API manifests against the CRD schemas of @kubernetes-models/gateway-api
// with its ajv, strictly: an object that declares its properties admits no other (as
// `kubeconform -strict` treats Kubernetes' schemas), so a misspelt field fails.
// Input: one JSON document per line on stdin. Output: one line per finding; exit 1 if any.
"use strict";
const validate = require("@kubernetes-models/validate");

function strict(schema) {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== "object") return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, strict(v)]));
  if (copy.properties && copy.additionalProperties === undefined) copy.additionalProperties = false;
  return copy;
}

const register = validate.register;
validate.register = (id, schema) => register(id, strict(schema));

const lines = require("fs").readFileSync(0, "utf8").split("\n").filter((line) => line.trim());
let findings = 0;
for (const line of lines) {
  const doc = JSON.parse(line);
  const [group, version] = doc.apiVersion.split("/");
  const where = `${doc.kind} ${doc.metadata && doc.metadata.name}`;
  try {
    const models = require(`@kubernetes-models/gateway-api/${group}/${version}/${doc.kind}`);
    new models[doc.kind](doc).validate();
    console.log(`${where}: valid`);
  } catch (error) {
    console.log(`${where}: ${error.message}`);
    findings += 1;
  }
}
process.exit(findings ? 1 : 0);
