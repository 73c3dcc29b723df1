import type { EventRow, TriggerFiringRow, TriggerRow } from '../src/db/database';
import { firingsOfEvent, firingsOfTrigger, findEvent } from '../src/triggers/triggers.repository';
import type { CreateTriggerRequest } from '../src/triggers/trigger.service';
import type { GraphQLContext } from './context';
import { pageSize } from './pagination';

export const eventsResolvers = {
  Query: {
    triggers(_: unknown, _args: unknown, ctx: GraphQLContext) {
      return ctx.triggers.list(ctx.tenantId);
    },
    event(_: unknown, args: { id: string }, ctx: GraphQLContext) {
      return args.id.length > 0 && args.id.length <= 200 ? findEvent(ctx.db, ctx.tenantId, args.id).then((row) => row ?? null) : null;
    },
  },
  Mutation: {
    publishEvent(_: unknown, args: { type: string; payload: unknown; id?: string | null }, ctx: GraphQLContext) {
      // An application (or a run's http step) publishing from inside a chain sends it along.
      const chain = ctx.services.triggers.chains.parse(ctx.request.chainHeader);
      return ctx.events.publish(ctx.tenantId, { ...args, chain });
    },
    createTrigger(_: unknown, args: CreateTriggerRequest, ctx: GraphQLContext) {
      return ctx.triggers.create(ctx.tenantId, args);
    },
    deleteTrigger(_: unknown, args: { id: string }, ctx: GraphQLContext) {
      return ctx.triggers.delete(ctx.tenantId, args.id);
    },
  },
  Trigger: {
    event: (row: TriggerRow) => row.event_type,
    definition: (row: TriggerRow) => row.definition_name,
    createdAt: (row: TriggerRow) => row.created_at,
    firings: (row: TriggerRow, args: { first?: number | null }, ctx: GraphQLContext) => firingsOfTrigger(ctx.db, row.id, pageSize(args.first)),
  },
  TriggerFiring: {
    triggerId: (row: TriggerFiringRow) => row.trigger_id,
    eventId: (row: TriggerFiringRow) => row.event_id,
    runId: (row: TriggerFiringRow) => row.run_id,
  },
  Event: {
    publishedAt: (row: EventRow) => row.published_at,
    lastError: (row: EventRow) => row.last_error,
    firings: (row: EventRow, _: unknown, ctx: GraphQLContext) => firingsOfEvent(ctx.db, row.tenant_id, row.id),
  },
};
