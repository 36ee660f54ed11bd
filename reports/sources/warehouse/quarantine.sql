-- Quarantined records per source, table and reason; every loaded source has a row (0 records when
-- nothing was quarantined: Evidence writes no file for an empty result, and the page must still load).
select
    l.source,
    coalesce(q.source_table, '') as source_table,
    coalesce(q.reason, '') as reason,
    count(q.source) as records,
    max(q.quarantined_at) as last_at
from (select distinct source from load_info.raw_loads) as l
left join load_info.quarantine as q on q.source = l.source
group by all
