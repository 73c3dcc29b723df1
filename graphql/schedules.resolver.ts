import type { ScheduleRow } from '../src/db/database';
import { temporalScheduleId } from '../src/triggers/schedule-ids';
import type { CreateScheduleRequest } from '../src/triggers/schedule.service';
import type { GraphQLContext } from './context';

export const schedulesResolvers = {
  Query: {
    schedules(_: unknown, _args: unknown, ctx: GraphQLContext) {
      return ctx.schedules.list(ctx.tenantId);
    },
  },
  Mutation: {
    createSchedule(_: unknown, args: CreateScheduleRequest, ctx: GraphQLContext) {
      return ctx.schedules.create(ctx.tenantId, args);
    },
    pauseSchedule(_: unknown, args: { id: string }, ctx: GraphQLContext) {
      return ctx.schedules.setPaused(ctx.tenantId, args.id, true);
    },
    resumeSchedule(_: unknown, args: { id: string }, ctx: GraphQLContext) {
      return ctx.schedules.setPaused(ctx.tenantId, args.id, false);
    },
    triggerSchedule(_: unknown, args: { id: string }, ctx: GraphQLContext) {
      return ctx.schedules.trigger(ctx.tenantId, args.id);
    },
    deleteSchedule(_: unknown, args: { id: string }, ctx: GraphQLContext) {
      return ctx.schedules.delete(ctx.tenantId, args.id);
    },
  },
  Schedule: {
    definition: (row: ScheduleRow) => row.definition_name,
    lastError: (row: ScheduleRow) => row.last_error,
    lastErrorAt: (row: ScheduleRow) => row.last_error_at,
    createdAt: (row: ScheduleRow) => row.created_at,
    temporalScheduleId: (row: ScheduleRow) => temporalScheduleId(row),
  },
};
