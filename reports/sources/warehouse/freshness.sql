-- Freshness per source: the last successful load, and how far the data's own clock reaches.
select
    l.source,
    max(l.inserted_at) as last_load_at,
    count(*) as loads,
    (select max(as_of_date) from marts.customer_360) as data_as_of
from load_info.raw_loads as l
where l.status = 0
group by l.source
