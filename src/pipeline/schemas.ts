import { z } from 'zod';
import { HardwareSchema } from '../hardware/schema.js';
import { ProfileSchema } from '../profile/schema.js';

/** The published JSON Schemas, generated from the zod schemas (the single source of truth). */
export function jsonSchemas(): Record<string, unknown> {
  const opts = { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' } as const;
  return {
    'profile.schema.json': z.toJSONSchema(ProfileSchema, opts),
    'hardware.schema.json': z.toJSONSchema(HardwareSchema, opts),
  };
}

export function renderSchema(schema: unknown): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
