//! Differential tests for geo commands against a real `redis-server` (7.0), RESP2 and RESP3:
//! stored coordinates, hashes and distances must match to the printed digit, and searches
//! must find the same members in the same order.

mod common;

use common::diff;

const SICILY: &str = "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania";

const CASES: &[&[&str]] = &[
    &[
        SICILY,
        "GEOPOS Sicily Palermo Catania NonExisting",
        "GEOHASH Sicily Palermo Catania nope",
        "GEODIST Sicily Palermo Catania",
        "GEODIST Sicily Palermo Catania km",
        "GEODIST Sicily Palermo Catania KM",
        "GEODIST Sicily Palermo Catania mi",
        "GEODIST Sicily Palermo Catania ft",
        "GEODIST Sicily Palermo Catania m",
        "GEODIST Sicily Palermo Catania parsecs",
        "GEODIST Sicily Palermo nope",
        "GEODIST Sicily Palermo Catania km extra",
        "GEODIST nokey a b",
        "GEOPOS nokey a b",
        "GEOHASH nokey a",
        "GEOPOS Sicily",
        "ZRANGE Sicily 0 -1 WITHSCORES",
        "OBJECT ENCODING Sicily",
        "TYPE Sicily",
    ],
    // GEOADD options and errors.
    &[
        SICILY,
        "GEOADD Sicily NX 13.361389 38.115556 Palermo 12.5 37.8 Marsala",
        "GEOADD Sicily XX 13.4 38.2 Palermo 12.0 37.0 Nowhere",
        "GEOADD Sicily XX CH 13.5 38.2 Palermo",
        "GEOADD Sicily CH 13.5 38.2 Palermo 14 37 New",
        "GEOADD Sicily NX XX 1 1 a",
        "GEOADD Sicily 1 1",
        "GEOADD Sicily GT 1 1 a",
        "GEOADD Sicily 200 1 a",
        "GEOADD Sicily 1 86 a",
        "GEOADD Sicily -180 -85.05112878 corner",
        "GEOADD Sicily 180 85.05112878 corner2",
        "GEOADD Sicily x 1 a",
        "GEOPOS Sicily Palermo Marsala corner corner2 Nowhere",
        "GEOHASH Sicily corner corner2",
        "SET s v",
        "GEOADD s 1 1 a",
        "GEOPOS s a",
        "GEODIST s a b",
        "GEOSEARCH s FROMLONLAT 0 0 BYRADIUS 1 km",
    ],
    // GEORADIUS family.
    &[
        SICILY,
        "GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2 13.583333 37.316667 Agrigento",
        "GEORADIUS Sicily 15 37 200 km WITHDIST",
        "GEORADIUS Sicily 15 37 200 km WITHCOORD",
        "GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH",
        "GEORADIUS Sicily 15 37 200 km ASC",
        "GEORADIUS Sicily 15 37 200 km DESC WITHDIST",
        "GEORADIUS Sicily 15 37 500 km COUNT 2",
        "GEORADIUS Sicily 15 37 500 km COUNT 2 DESC",
        "GEORADIUS Sicily 15 37 500 km COUNT 0",
        "GEORADIUS Sicily 15 37 500 km ANY",
        "GEORADIUS Sicily 15 37 500 mi ASC WITHDIST",
        "GEORADIUS Sicily 15 37 500000 ft ASC WITHDIST",
        "GEORADIUS Sicily 15 37 -1 km",
        "GEORADIUS Sicily 15 37 x km",
        "GEORADIUS Sicily 15 37 1 parsecs",
        "GEORADIUS Sicily 200 37 1 km",
        "GEORADIUS Sicily 15 37 200 km BOGUS",
        "GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST",
        "GEORADIUS Sicily 15 37 200 km STORE dst",
        "ZRANGE dst 0 -1 WITHSCORES",
        "GEORADIUS Sicily 15 37 200 km STOREDIST dst",
        "ZRANGE dst 0 -1",
        "ZCOUNT dst 56.4412 56.4413",
        "GEORADIUS Sicily 0 0 1 km STORE dst",
        "EXISTS dst",
        "GEORADIUS nokey 15 37 200 km",
        "GEORADIUS nokey 15 37 200 km STORE dst",
        "GEORADIUS_RO Sicily 15 37 200 km ASC",
        "GEORADIUS_RO Sicily 15 37 200 km STORE dst",
        "GEORADIUSBYMEMBER Sicily Palermo 200 km ASC WITHDIST",
        "GEORADIUSBYMEMBER Sicily nope 200 km",
        "GEORADIUSBYMEMBER Sicily Palermo -5 km",
        "GEORADIUSBYMEMBER nokey Palermo 200 km",
        "GEORADIUSBYMEMBER Sicily Palermo 200 km STOREDIST dst2",
        "ZRANGE dst2 0 -1",
        "ZCOUNT dst2 90.9777 90.9778",
        "GEORADIUSBYMEMBER_RO Sicily Catania 100 km ASC WITHCOORD",
    ],
    // GEOSEARCH / GEOSEARCHSTORE.
    &[
        SICILY,
        "GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2 13.583333 37.316667 Agrigento",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 200 200 km DESC WITHHASH",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 100 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1000 1000 km COUNT 3",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1000 1000 km COUNT 3 ANY ASC",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ANY",
        "GEOSEARCH Sicily FROMLONLAT 15 37",
        "GEOSEARCH Sicily BYRADIUS 200 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km BYBOX 1 1 km",
        "GEOSEARCH Sicily FROMMEMBER nope BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x 1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km STOREDIST",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km COUNT -1",
        "GEOSEARCH nokey FROMMEMBER x BYRADIUS 1 km",
        "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC COUNT 3",
        "ZRANGE dst 0 -1 WITHSCORES",
        "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC COUNT 3 STOREDIST",
        "ZRANGE dst 0 -1",
        "ZCOUNT dst 56.4412 56.4413",
        "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST",
        "GEOSEARCHSTORE dst Sicily FROMLONLAT 0 0 BYRADIUS 1 km",
        "EXISTS dst",
        "GEOSEARCHSTORE dst nokey FROMLONLAT 0 0 BYRADIUS 1 km",
    ],
    // Near the poles, across the antimeridian, huge and zero radii.
    &[
        "GEOADD w 179.9 0 east -179.9 0 west 0 85 north 0 -85 south 0 0 origin 0.0001 0.0001 near",
        "GEOSEARCH w FROMLONLAT 179.95 0 BYRADIUS 50 km ASC WITHDIST",
        "GEOSEARCH w FROMLONLAT 0 84 BYRADIUS 200 km ASC WITHDIST",
        "GEOSEARCH w FROMLONLAT 0 0 BYRADIUS 20000 km ASC",
        "GEOSEARCH w FROMLONLAT 0 0 BYRADIUS 0 m ASC WITHDIST",
        "GEOSEARCH w FROMLONLAT 0 0 BYBOX 40000 40000 km DESC",
        "GEOSEARCH w FROMMEMBER origin BYRADIUS 20 m WITHDIST ASC",
        "GEODIST w east west km",
        "GEODIST w north south km",
        "GEODIST w origin near m",
        "GEOHASH w east west north south origin near",
        "GEOPOS w east west north south origin near",
    ],
];

/// (STOREDIST scores are checked by order and ZCOUNT windows: Redis 7.0 prints doubles with
/// `%.17g`, 7.2 and Vole with the shortest round-trip form.)
const EXPECTED_TO_DIFFER: &[(&str, &str)] = &[];

/// GEORADIUS without ASC/DESC returns points in cell order; both are deterministic, but ANY
/// picks whichever points come first, so compare those sorted.
const UNORDERED: &[&str] = &[];

#[test]
fn geo_same_replies_as_redis_resp2() {
    // Every geo case gives byte-identical RESP2 replies on Vole and redis-server.
    diff::run(CASES, EXPECTED_TO_DIFFER, UNORDERED, 2);
}

#[test]
fn geo_same_replies_as_redis_resp3() {
    // Every geo case gives identical RESP3 replies on Vole and redis-server.
    diff::run(CASES, EXPECTED_TO_DIFFER, UNORDERED, 3);
}
