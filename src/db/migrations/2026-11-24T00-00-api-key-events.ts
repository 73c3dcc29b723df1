import { sql, type Kysely } from 'kysely';

/**
 * API keys tell every API process when they change, however they change, and the database
 * remembers that keys were ever used.
 *
 * - A trigger on `api_keys` sends a notification on the `trellis_api_keys` channel for every
 *   created, revoked, re-keyed, deleted or truncated key, whoever wrote it: `revokeApiKey`
 *   through GraphQL, `trellis keys revoke` (which writes the table directly), or an operator's
 *   SQL. API processes LISTEN and close the sockets of a key that stopped being valid.
 * - `api_key_mode.keys_required_since` is set by the same trigger when the first key is created
 *   (and here, for databases that already have keys). From then on the API never serves keyless
 *   requests, even once every key is revoked or deleted; only `trellis keys allow-keyless` (an
 *   operator with database access) clears it.
 *
 * The trigger function runs as its owner (`security definer`): tenant connections (role
 * `trellis_tenant`) may create keys of their own tenant but cannot write `api_key_mode`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table api_key_mode (
      only_row boolean primary key default true check (only_row),
      keys_required_since timestamptz
    )`.execute(db);
  await sql`insert into api_key_mode (keys_required_since) select min(created_at) from api_keys`.execute(db);

  await sql`
    create function trellis_api_keys_changed() returns trigger
    language plpgsql security definer set search_path = public, pg_temp as $$
    begin
      if tg_op = 'TRUNCATE' then
        perform pg_notify('trellis_api_keys', json_build_object('event', 'truncated')::text);
        return null;
      elsif tg_op = 'INSERT' then
        update api_key_mode set keys_required_since = coalesce(keys_required_since, now());
        perform pg_notify('trellis_api_keys', json_build_object('event', 'created', 'keyId', new.id, 'tenantId', new.tenant_id)::text);
      elsif tg_op = 'DELETE'
         or (new.revoked_at is not null and old.revoked_at is null)
         or new.key_hash is distinct from old.key_hash
         or new.tenant_id is distinct from old.tenant_id
         or new.admin is distinct from old.admin then
        -- A key whose secret, tenant or rights changed is, for open sockets, a key that is gone.
        perform pg_notify('trellis_api_keys', json_build_object('event', 'revoked', 'keyId', old.id, 'tenantId', old.tenant_id)::text);
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger api_keys_changed after insert or update or delete on api_keys
    for each row execute function trellis_api_keys_changed()`.execute(db);
  await sql`
    create trigger api_keys_truncated after truncate on api_keys
    for each statement execute function trellis_api_keys_changed()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger api_keys_truncated on api_keys`.execute(db);
  await sql`drop trigger api_keys_changed on api_keys`.execute(db);
  await sql`drop function trellis_api_keys_changed()`.execute(db);
  await sql`drop table api_key_mode`.execute(db);
}
