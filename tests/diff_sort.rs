//! SORT and SORT_RO against a real redis-server: numeric and ALPHA sorting, BY and GET
//! patterns (keys and hash fields, `#`), LIMIT windows, STORE, and their errors.

mod common;

use common::diff;

const CASES: &[&[&str]] = &[
    &[
        "RPUSH l 3 1 2 10 -5 2.5",
        "SORT l",
        "SORT l DESC",
        "SORT l LIMIT 1 2",
        "SORT l LIMIT -1 2",
        "SORT l LIMIT 0 -1",
        "SORT l LIMIT 10 2",
        "SORT l LIMIT 2 0",
        "SORT l ALPHA",
        "SORT l ALPHA DESC LIMIT 0 3",
        "SORT_RO l DESC",
        "SORT nosuch",
        "SORT l LIMIT a 1",
        "SORT l LIMIT 1",
        "SORT l BOGUS",
        "SORT_RO l STORE dst",
    ],
    &[
        "RPUSH words banana apple cherry",
        "SORT words",
        "SORT words ALPHA",
        "SORT words ALPHA DESC",
        "SET s str",
        "SORT s",
        "HSET h f v",
        "SORT h",
    ],
    &[
        "RPUSH ids 1 2 3 4",
        "SET w_1 40",
        "SET w_2 10",
        "SET w_3 30",
        "SORT ids BY w_*",
        "SORT ids BY w_* DESC",
        "SORT ids BY w_* GET # GET w_*",
        "SORT ids BY nosort GET w_*",
        "SORT ids BY nosort DESC",
        "SORT ids BY nosort LIMIT 1 2",
        "HSET obj_1 name one score 5",
        "HSET obj_2 name two score 1",
        "HSET obj_3 name three score 3",
        "SORT ids BY obj_*->score GET obj_*->name GET #",
        "SORT ids BY obj_*->score ALPHA GET obj_*->name",
        "SORT ids GET obj_*->nofield GET nokey_*",
        "SET w_4 notanumber",
        "SORT ids BY w_*",
        "SORT ids BY w_* ALPHA",
    ],
    &[
        "SADD set 5 3 9 1",
        "SORT set",
        "SORT set DESC LIMIT 0 2",
        "SORT set STORE out",
        "LRANGE out 0 -1",
        "TYPE out",
        "SORT set BY nosort STORE out2",
        "LRANGE out2 0 -1",
        "SORT set GET nokey_* STORE out3",
        "LRANGE out3 0 -1",
        "SET out4 x",
        "SORT nosuch STORE out4",
        "EXISTS out4",
    ],
    &[
        "ZADD z 3 c 1 a 2 b",
        "SORT z ALPHA",
        "SORT z BY nosort",
        "SORT z BY nosort DESC",
        "SORT z BY nosort LIMIT 1 1",
        "SORT z BY nosort DESC LIMIT 0 2",
        "SORT z",
    ],
];

const EXPECTED_TO_DIFFER: &[(&str, &str)] = &[];

/// Sets have no defined order when not sorted.
const UNORDERED: &[&str] = &[];

#[test]
fn same_replies_as_redis_resp2() {
    // Every SORT case answers byte-identically to redis-server in RESP2.
    diff::run(CASES, EXPECTED_TO_DIFFER, UNORDERED, 2);
}

#[test]
fn same_replies_as_redis_resp3() {
    // Every SORT case answers identically to redis-server in RESP3.
    diff::run(CASES, EXPECTED_TO_DIFFER, UNORDERED, 3);
}
