// Schema validation of runtime-spec documents through the precompiled
// validators in validate.gen.js (see scripts/gen-validator.ts). Importing this
// module compiles nothing.

import type { ErrorObject } from "ajv/dist/types";
import * as generated from "./validate.gen.js";
import type { GeneratedValidator } from "./validate.gen.js";

/** Why a document does not match its schema, as "/json/pointer: reason". */
export type SchemaProblem = string;

// Combinators report after the branch errors that explain them; the branch
// error names the field that is actually wrong.
const combinators = new Set(["anyOf", "oneOf", "allOf", "if", "not"]);

function describe(err: ErrorObject): SchemaProblem {
  const path = err.instancePath;
  const params = err.params as Record<string, unknown>;
  let where = path;
  let reason: string;
  switch (err.keyword) {
    case "required":
      where = `${path}/${String(params.missingProperty)}`;
      reason = "is required";
      break;
    case "enum":
      reason = `must be one of ${(params.allowedValues as unknown[]).map(String).join(", ")}`;
      break;
    case "type":
      reason = `must be ${String(params.type).split(",").join(" or ")}`;
      break;
    default:
      reason = err.message ?? `fails "${err.keyword}"`;
  }
  return where === "" ? reason : `${where}: ${reason}`;
}

function firstProblem(validate: GeneratedValidator, doc: unknown): SchemaProblem | null {
  if (validate(doc)) return null;
  const errors = validate.errors ?? [];
  const specific = errors.find((e) => !combinators.has(e.keyword)) ?? errors[0];
  return specific ? describe(specific) : "does not match the schema";
}

/** The first way a config.json document breaks config-schema.json, or null. */
export function configProblem(doc: unknown): SchemaProblem | null {
  return firstProblem(generated.validateConfig, doc);
}

export function stateProblem(doc: unknown): SchemaProblem | null {
  return firstProblem(generated.validateState, doc);
}

export function featuresProblem(doc: unknown): SchemaProblem | null {
  return firstProblem(generated.validateFeatures, doc);
}
