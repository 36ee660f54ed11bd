-- The CRM's champions over time: one row per spell in which a contact was a champion (from the
-- contact history kept by snap_salesforce__contacts), with the email forms the product may show for
-- them (the CRM keeps jsmith@ where the product signs people in as john.smith@), when the CRM
-- learned that they left, and when the spell ended (another champion named, the contact deleted).
-- Every date is the CRM's own stamp of a version, so a later edit never changes an earlier day.
with versions as (
    select
        *,
        is_champion and not is_deleted as counts_as_champion,
        row_number() over (partition by contact_id order by dbt_valid_from) as version_number
    from {{ ref('snap_salesforce__contacts') }}
),

marked as (
    select
        *,
        case when counts_as_champion
            and not coalesce(lag(counts_as_champion) over (partition by contact_id order by dbt_valid_from), false)
            then 1 else 0 end as starts_spell
    from versions
),

numbered as (
    select
        *,
        sum(starts_spell) over (
            partition by contact_id order by dbt_valid_from rows between unbounded preceding and current row
        ) as spell_number
    from marked
),

spells as (
    select
        contact_id,
        spell_number,
        -- The first version the warehouse saw (a first load knows no earlier value): a champion still
        -- there counts from that version's stamp (it may have been promoted then); one already flagged
        -- as gone from its creation (its last change was the flag).
        min(case when starts_spell = 1 and version_number = 1 and has_left_company then created_at
            when starts_spell = 1 then dbt_valid_from end) as known_since_at,
        min(case when has_left_company then dbt_valid_from end) as left_flagged_at,
        max(dbt_valid_to) as ended_at,
        count(dbt_valid_to) = count(*) as has_ended
    from numbered
    where counts_as_champion
    group by contact_id, spell_number
),

-- Names and emails only match the contact to its product user: the latest values.
latest as (
    select contact_id, account_id, email, first_name, last_name
    from versions
    where dbt_valid_to is null
)

select
    {{ dbt.concat(['spells.contact_id', "'|'", 'cast(spells.spell_number as ' ~ dbt.type_string() ~ ')']) }}
        as champion_spell_id,
    spells.contact_id,
    latest.account_id,
    spells.spell_number,
    latest.email,
    lower({{ ascii_fold('latest.first_name') }}) || '.' || lower({{ ascii_fold('latest.last_name') }}) || '@'
        || {{ domain_of('latest.email') }} as product_email,
    cast(spells.known_since_at as date) as known_since_date,
    cast(spells.left_flagged_at as date) as left_flagged_date,
    case when spells.has_ended then cast(spells.ended_at as date) end as ended_date
from spells
inner join latest on spells.contact_id = latest.contact_id
