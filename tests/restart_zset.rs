//! Restart equivalence for sorted sets and geo sets: every read answers byte for byte the same
//! after a snapshot load, after log replay, and after a snapshot plus log replay.

mod common;

const WRITES: &[&str] = &[
    "ZADD z 1 a 2 b 3 c -0 negzero inf top -inf bottom",
    "ZINCRBY z 2.5 a",
    "ZADD z GT CH 10 b 0 c",
    "ZREM z c",
    "ZADD big 0 b0 1 b1 2 b2 3 b3 4 b4 5 b5 6 b6 7 b7 8 b8 9 b9 10 b10 11 b11 12 b12 13 b13 14 b14 15 b15 16 b16 17 b17 18 b18 19 b19 20 b20 21 b21 22 b22 23 b23 24 b24 25 b25 26 b26 27 b27 28 b28 29 b29 30 b30 31 b31 32 b32 33 b33 34 b34 35 b35 36 b36 37 b37 38 b38 39 b39 40 b40 41 b41 42 b42 43 b43 44 b44 45 b45 46 b46 47 b47 48 b48 49 b49 50 b50 51 b51 52 b52 53 b53 54 b54 55 b55 56 b56 57 b57 58 b58 59 b59 60 b60 61 b61 62 b62 63 b63 64 b64 65 b65 66 b66 67 b67 68 b68 69 b69 70 b70 71 b71 72 b72 73 b73 74 b74 75 b75 76 b76 77 b77 78 b78 79 b79 80 b80 81 b81 82 b82 83 b83 84 b84 85 b85 86 b86 87 b87 88 b88 89 b89 90 b90 91 b91 92 b92 93 b93 94 b94 95 b95 96 b96 97 b97 98 b98 99 b99 100 b100 101 b101 102 b102 103 b103 104 b104 105 b105 106 b106 107 b107 108 b108 109 b109 110 b110 111 b111 112 b112 113 b113 114 b114 115 b115 116 b116 117 b117 118 b118 119 b119 120 b120 121 b121 122 b122 123 b123 124 b124 125 b125 126 b126 127 b127 128 b128 129 b129",
    "ZREMRANGEBYRANK big 0 9",
    "ZADD lex 0 a 0 b 0 c 0 d 0 e",
    "ZREMRANGEBYLEX lex [b (d",
    "ZUNIONSTORE u 2 z big WEIGHTS 2 1",
    "ZRANGESTORE rs big 5 20",
    "ZPOPMIN rs 3",
    "GEOADD geo 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
    "GEOADD geo 2.3522 48.8566 Paris",
    "GEOSEARCHSTORE gs geo FROMLONLAT 15 37 BYRADIUS 200 km ASC STOREDIST",
];

const MORE: &[&str] = &[
    "ZADD z 7 late",
    "ZPOPMAX big 2",
    "ZINCRBY z -1 b",
    "ZMPOP 1 lex MIN COUNT 1",
    "ZREMRANGEBYSCORE u -inf 5",
    "GEOADD geo XX CH 2.35 48.85 Paris",
    "ZDIFFSTORE d 2 big rs",
];

const CHECKS: &[&str] = &[
    "ZRANGE z 0 -1 WITHSCORES",
    "ZRANGE big 0 -1 WITHSCORES",
    "ZCARD big",
    "OBJECT ENCODING z",
    "ZRANGE lex 0 -1",
    "ZRANGE u 0 -1 WITHSCORES",
    "ZRANGE rs 0 -1 WITHSCORES",
    "ZRANGE d 0 -1 WITHSCORES",
    "ZRANK big b100",
    "ZSCORE z negzero",
    "GEOPOS geo Palermo Catania Paris",
    "GEOHASH geo Palermo Catania Paris",
    "GEODIST geo Palermo Catania km",
    "ZRANGE gs 0 -1 WITHSCORES",
    "DBSIZE",
];

#[test]
fn sorted_sets_survive_restarts() {
    // Sorted sets (both encodings, -0, infinities, stores, pops) and geo sets read the same
    // after every kind of restart.
    common::restart::check("zset", WRITES, MORE, CHECKS);
}
