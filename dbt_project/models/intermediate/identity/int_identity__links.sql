-- The record each CRM account is linked to in each system: when several records point at one
-- account, the explicit id wins over the domain, then the oldest record (lowest id). The others
-- stay unlinked, with the reason.
with candidates as (
    select * from {{ ref('int_identity__candidates') }}
),

ranked as (
    select
        *,
        case
            when candidate_account_id is null then null
            else row_number() over (
                partition by source_system, candidate_account_id
                order by case when match_method like '%domain%' then 1 else 0 end, record_id
            )
        end as account_rank
    from candidates
),

winners as (
    select source_system, candidate_account_id, record_id as winning_record_id
    from ranked
    where account_rank = 1
)

select
    ranked.identity_record_key,
    ranked.source_system,
    ranked.record_type,
    ranked.record_id,
    ranked.record_name,
    ranked.domain,
    case when ranked.account_rank = 1 then ranked.candidate_account_id end as account_id,
    case when ranked.account_rank = 1 then ranked.match_method end as match_method,
    case
        when ranked.account_rank = 1 then null
        when ranked.account_rank > 1
            then 'matches CRM account ' || ranked.candidate_account_id || ' by ' || ranked.match_method
                || ', which is already linked to ' || ranked.record_type || ' ' || winners.winning_record_id
        else ranked.unmatched_reason
    end as unmatched_reason
from ranked
left join winners
    on ranked.source_system = winners.source_system
    and ranked.candidate_account_id = winners.candidate_account_id
