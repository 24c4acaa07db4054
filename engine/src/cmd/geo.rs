//! Geo commands: GEOADD GEOPOS GEODIST GEOHASH GEOSEARCH GEOSEARCHSTORE GEORADIUS
//! GEORADIUSBYMEMBER GEORADIUS_RO GEORADIUSBYMEMBER_RO.
//!
//! A geo set is a sorted set whose scores are 52-bit interleaved geohashes, as in Redis: the
//! latitude (in Redis's Web Mercator limits ±85.05112878) and the longitude are each scaled to
//! 26 bits, latitude bits in the even positions and longitude bits in the odd ones. A search
//! covers the circle or box with the geohash cell at an estimated precision plus its 8
//! neighbours (dropping neighbours the shape cannot reach), walks each cell's score range and
//! keeps the points whose haversine distance (earth radius 6372797.560856 m) fits the shape.

use bytes::Bytes;

use super::zset::{build, store, zadd_generic, zset_of, AddFlags};
use super::{is, Ctx};
use crate::keyspace::KeyRef;
use crate::num::{self, LongDouble};
use crate::reply::{CmdError, CmdResult, Reply};
use crate::types::elem::ToBytes;
use crate::types::zset::{ScoreRange, ZSet};

const LAT_MIN: f64 = -85.05112878;
const LAT_MAX: f64 = 85.05112878;
const LON_MIN: f64 = -180.0;
const LON_MAX: f64 = 180.0;
const STEP_MAX: u8 = 26;
const EARTH_RADIUS_M: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

// ---------------------------------------------------------------------------------------------
// Geohash
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
struct Hash {
    bits: u64,
    step: u8,
}

#[derive(Clone, Copy, Debug)]
struct Range {
    min: f64,
    max: f64,
}

#[derive(Clone, Copy, Debug)]
struct Area {
    lon: Range,
    lat: Range,
}

/// Spreads the 32 bits of `v` to the even bit positions.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bit positions of `x` into 32 bits.
fn squash(x: u64) -> u32 {
    let mut x = x & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

/// Encodes a point at `step` bits per axis with the given ranges (C's double → uint32 cast
/// included: a coordinate on the upper limit spills one bit, as in Redis).
fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Hash {
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min) * scale;
    let lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min) * scale;
    Hash {
        bits: spread(lat_off as u32) | (spread(lon_off as u32) << 1),
        step,
    }
}

fn wgs84() -> (Range, Range) {
    (
        Range {
            min: LON_MIN,
            max: LON_MAX,
        },
        Range {
            min: LAT_MIN,
            max: LAT_MAX,
        },
    )
}

fn encode_wgs84(lon: f64, lat: f64) -> Hash {
    let (lo, la) = wgs84();
    encode(lo, la, lon, lat, STEP_MAX)
}

fn decode(lon_r: Range, lat_r: Range, h: Hash) -> Area {
    let ilat = squash(h.bits);
    let ilon = squash(h.bits >> 1);
    let div = (1u64 << h.step) as f64;
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    Area {
        lat: Range {
            min: lat_r.min + (f64::from(ilat) / div) * lat_scale,
            max: lat_r.min + ((f64::from(ilat) + 1.0) / div) * lat_scale,
        },
        lon: Range {
            min: lon_r.min + (f64::from(ilon) / div) * lon_scale,
            max: lon_r.min + ((f64::from(ilon) + 1.0) / div) * lon_scale,
        },
    }
}

/// The point a 52-bit score stands for (the centre of its cell, clamped).
fn score_to_lonlat(score: f64) -> (f64, f64) {
    let (lo, la) = wgs84();
    let a = decode(
        lo,
        la,
        Hash {
            bits: score as u64,
            step: STEP_MAX,
        },
    );
    let lon = ((a.lon.min + a.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((a.lat.min + a.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// Moves one cell along the axis whose bits are `mask` in the interleaved hash (the other
/// axis's bits stay): east/west for longitude bits, north/south for latitude bits.
fn move_axis(h: Hash, d: i8, mask: u64) -> Hash {
    let shift = 64 - u32::from(h.step) * 2;
    let moving = h.bits & mask;
    let kept = h.bits & !mask;
    let zz = (!mask).checked_shr(shift).unwrap_or(0);
    let moved = if d > 0 {
        moving.wrapping_add(zz.wrapping_add(1))
    } else {
        (moving | zz).wrapping_sub(zz.wrapping_add(1))
    };
    Hash {
        bits: (moved & mask.checked_shr(shift).unwrap_or(0)) | kept,
        step: h.step,
    }
}

fn move_x(h: Hash, d: i8) -> Hash {
    move_axis(h, d, 0xaaaa_aaaa_aaaa_aaaa)
}

fn move_y(h: Hash, d: i8) -> Hash {
    move_axis(h, d, 0x5555_5555_5555_5555)
}

fn deg_rad(d: f64) -> f64 {
    d * D_R
}

fn rad_deg(r: f64) -> f64 {
    r / D_R
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Haversine distance in meters.
fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (lat1r, lon1r, lat2r, lon2r) = (deg_rad(lat1), deg_rad(lon1), deg_rad(lat2), deg_rad(lon2));
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// The 11-character geohash string GEOHASH prints (standard ±90 latitude range).
fn hash_string(score: f64) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = score_to_lonlat(score);
    let h = encode(
        Range {
            min: -180.0,
            max: 180.0,
        },
        Range {
            min: -90.0,
            max: 90.0,
        },
        lon,
        lat,
        STEP_MAX,
    );
    (0..11)
        .map(|i| {
            let idx = if i == 10 {
                0
            } else {
                ((h.bits >> (52 - (i + 1) * 5)) & 0x1f) as usize
            };
            ALPHABET[idx] as char
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shapes and the neighbour search
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Shape {
    Circle { radius: f64 },
    Box { width: f64, height: f64 },
}

struct Search {
    lon: f64,
    lat: f64,
    shape: Shape,
    /// Meters per unit.
    unit: f64,
}

struct Point {
    member: Bytes,
    score: f64,
    dist: f64,
    lon: f64,
    lat: f64,
}

fn estimate_steps(mut range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return STEP_MAX;
    }
    let mut step: i32 = 1;
    while range_m < MERCATOR_MAX {
        range_m *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, i32::from(STEP_MAX)) as u8
}

/// The 9 cells to walk (zeroed ones skipped), centre first, as Redis orders them.
fn cells(s: &Search) -> Vec<Option<Hash>> {
    let (w, h) = match s.shape {
        Shape::Circle { radius } => (radius * s.unit, radius * s.unit),
        Shape::Box { width, height } => (width * s.unit / 2.0, height * s.unit / 2.0),
    };
    let lat_delta = rad_deg(h / EARTH_RADIUS_M);
    let lon_delta_top = rad_deg(w / EARTH_RADIUS_M / deg_rad(s.lat + lat_delta).cos());
    let lon_delta_bottom = rad_deg(w / EARTH_RADIUS_M / deg_rad(s.lat - lat_delta).cos());
    let south = s.lat < 0.0;
    let min_lon = if south {
        s.lon - lon_delta_bottom
    } else {
        s.lon - lon_delta_top
    };
    let max_lon = if south {
        s.lon + lon_delta_bottom
    } else {
        s.lon + lon_delta_top
    };
    let min_lat = s.lat - lat_delta;
    let max_lat = s.lat + lat_delta;
    let radius_m = match s.shape {
        Shape::Circle { radius } => radius,
        Shape::Box { width, height } => ((width / 2.0).powi(2) + (height / 2.0).powi(2)).sqrt(),
    } * s.unit;
    let mut steps = estimate_steps(radius_m, s.lat);
    let (lo, la) = wgs84();
    let neighbours = |c: Hash| {
        [
            move_y(c, 1),
            move_y(c, -1),
            move_x(c, 1),
            move_x(c, -1),
            move_y(move_x(c, 1), 1),
            move_y(move_x(c, -1), 1),
            move_y(move_x(c, 1), -1),
            move_y(move_x(c, -1), -1),
        ]
    };
    let mut centre = encode(lo, la, s.lon, s.lat, steps);
    let mut n = neighbours(centre);
    let area_of = |h: Hash| decode(lo, la, h);
    let decrease = area_of(n[0]).lat.max < max_lat
        || area_of(n[1]).lat.min > min_lat
        || area_of(n[2]).lon.max < max_lon
        || area_of(n[3]).lon.min > min_lon;
    if steps > 1 && decrease {
        steps -= 1;
        centre = encode(lo, la, s.lon, s.lat, steps);
        n = neighbours(centre);
    }
    let area = area_of(centre);
    // [north, south, east, west, north_east, north_west, south_east, south_west]
    let mut keep = [true; 8];
    if steps >= 2 {
        if area.lat.min < min_lat {
            keep[1] = false;
            keep[7] = false;
            keep[6] = false;
        }
        if area.lat.max > max_lat {
            keep[0] = false;
            keep[4] = false;
            keep[5] = false;
        }
        if area.lon.min < min_lon {
            keep[3] = false;
            keep[7] = false;
            keep[5] = false;
        }
        if area.lon.max > max_lon {
            keep[2] = false;
            keep[6] = false;
            keep[4] = false;
        }
    }
    let mut out = vec![Some(centre)];
    for (i, h) in n.into_iter().enumerate() {
        out.push(keep[i].then_some(h));
    }
    out
}

/// The distance from the search centre if the point is inside the shape.
fn within(s: &Search, lon: f64, lat: f64) -> Option<f64> {
    match s.shape {
        Shape::Circle { radius } => {
            let d = distance(s.lon, s.lat, lon, lat);
            (d <= radius * s.unit).then_some(d)
        }
        Shape::Box { width, height } => {
            if lat_distance(lat, s.lat) > height * s.unit / 2.0 {
                return None;
            }
            if distance(lon, lat, s.lon, lat) > width * s.unit / 2.0 {
                return None;
            }
            Some(distance(s.lon, s.lat, lon, lat))
        }
    }
}

/// Every point of `z` inside the shape (stopping at `limit` when it is not 0).
fn search(z: &ZSet, s: &Search, limit: usize) -> Vec<Point> {
    let mut out: Vec<Point> = Vec::new();
    let mut last: Option<Hash> = None;
    for cell in cells(s) {
        // A zeroed neighbour (bits 0, step 0) is skipped, like Redis's HASHISZERO.
        let Some(h) = cell else { continue };
        if last == Some(h) {
            continue;
        }
        if !out.is_empty() && limit > 0 && out.len() >= limit {
            break;
        }
        let shift = 52 - u32::from(h.step) * 2;
        let min = (h.bits << shift) as f64;
        let max = ((h.bits + 1) << shift) as f64;
        let r = ScoreRange {
            min,
            max,
            minex: false,
            maxex: true,
        };
        for (m, score) in z
            .walk(z.first_in_score(&r), false)
            .take_while(|(_, sc)| r.lte_max(*sc))
        {
            if !out.is_empty() && limit > 0 && out.len() >= limit {
                break;
            }
            let (lon, lat) = score_to_lonlat(score);
            if let Some(dist) = within(s, lon, lat) {
                out.push(Point {
                    member: m.to_bytes(),
                    score,
                    dist,
                    lon,
                    lat,
                });
            }
        }
        last = Some(h);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Argument parsing
// ---------------------------------------------------------------------------------------------

fn lonlat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let lon = super::float_arg(lon)?;
    let lat = super::float_arg(lat)?;
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return Err(CmdError::err(format!(
            "invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

fn unit(u: &[u8]) -> Result<f64, CmdError> {
    if is(u, "m") {
        Ok(1.0)
    } else if is(u, "km") {
        Ok(1000.0)
    } else if is(u, "ft") {
        Ok(0.3048)
    } else if is(u, "mi") {
        Ok(1609.34)
    } else {
        Err(CmdError::err(
            "unsupported unit provided. please use M, KM, FT, MI",
        ))
    }
}

fn float_or(arg: &[u8], msg: &str) -> Result<f64, CmdError> {
    num::parse_f64(arg).ok_or_else(|| CmdError::err(msg))
}

fn radius(args: &[Bytes]) -> Result<(f64, f64), CmdError> {
    let r = float_or(&args[0], "need numeric radius")?;
    if r < 0.0 {
        return Err(CmdError::err("radius cannot be negative"));
    }
    Ok((r, unit(&args[1])?))
}

fn human(d: f64) -> Reply {
    Reply::DoubleText(Bytes::from(LongDouble::from_f64(d).to_human_string()))
}

fn dist_reply(d: f64) -> Reply {
    Reply::bulk_string(format!("{d:.4}"))
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/// GEOADD key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]
pub fn geoadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is(a, "NX") {
            nx = true;
        } else if is(a, "XX") {
            xx = true;
        } else if !is(a, "CH") {
            break;
        }
        i += 1;
    }
    if (args.len() - i) % 3 != 0 || (nx && xx) {
        return Err(CmdError::Syntax);
    }
    let mut zargs: Vec<Bytes> = args[..i].to_vec();
    for t in args[i..].chunks_exact(3) {
        let (lon, lat) = lonlat(&t[0], &t[1])?;
        let h = encode_wgs84(lon, lat);
        zargs.push(Bytes::from(h.bits.to_string()));
        zargs.push(t[2].clone());
    }
    zadd_generic(ctx, &zargs, AddFlags::default(), 2)
}

/// GEOPOS key [member ...]
pub fn geopos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let z = zset_of(&sh, &k, ctx)?;
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|m| match z.and_then(|z| z.score(m)) {
                Some(s) => {
                    let (lon, lat) = score_to_lonlat(s);
                    Reply::Array(vec![human(lon), human(lat)])
                }
                None => Reply::NilArray,
            })
            .collect(),
    ))
}

/// GEOHASH key [member ...]
pub fn geohash(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let z = zset_of(&sh, &k, ctx)?;
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|m| {
                z.and_then(|z| z.score(m))
                    .map_or(Reply::Nil, |s| Reply::bulk_string(hash_string(s)))
            })
            .collect(),
    ))
}

/// GEODIST key member1 member2 [M | KM | FT | MI]
pub fn geodist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let to_m = match args.len() {
        4 => 1.0,
        5 => unit(&args[4])?,
        _ => return Err(CmdError::Syntax),
    };
    let k = ctx.db.locate(&args[1]);
    let sh = ctx.db.read(k.shard);
    let Some(z) = zset_of(&sh, &k, ctx)? else {
        return Ok(Reply::Nil);
    };
    let (Some(a), Some(b)) = (z.score(&args[2]), z.score(&args[3])) else {
        return Ok(Reply::Nil);
    };
    let (lon1, lat1) = score_to_lonlat(a);
    let (lon2, lat2) = score_to_lonlat(b);
    Ok(dist_reply(distance(lon1, lat1, lon2, lat2) / to_m))
}

#[derive(Clone, Copy, PartialEq)]
enum Form {
    /// GEORADIUS / GEORADIUS_RO: key lon lat radius unit.
    RadiusCoords { ro: bool },
    /// GEORADIUSBYMEMBER / _RO: key member radius unit.
    RadiusMember { ro: bool },
    /// GEOSEARCH key ... / GEOSEARCHSTORE dst src ...
    Search { store: bool },
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// Where the search centre comes from before the key is read.
enum From {
    LonLat(f64, f64),
    Member(Bytes),
}

struct Query {
    from: Option<From>,
    shape: Option<(Shape, f64)>,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    any: bool,
    sort: Sort,
    count: usize,
    store: Option<Bytes>,
    storedist: bool,
}

/// Parses everything but the key, in Redis's order, reporting errors as Redis does. `exists`
/// tells whether the source key exists (Redis skips reading the centre member when not).
fn parse_query(args: &[Bytes], form: Form) -> Result<Query, CmdError> {
    let mut q = Query {
        from: None,
        shape: None,
        withdist: false,
        withhash: false,
        withcoord: false,
        any: false,
        sort: Sort::None,
        count: 0,
        store: None,
        storedist: false,
    };
    let base = match form {
        Form::RadiusCoords { .. } => {
            let (lon, lat) = lonlat(&args[2], &args[3])?;
            let (r, u) = radius(&args[4..6])?;
            q.from = Some(From::LonLat(lon, lat));
            q.shape = Some((Shape::Circle { radius: r }, u));
            6
        }
        Form::RadiusMember { .. } => {
            q.from = Some(From::Member(args[2].clone()));
            5
        }
        Form::Search { store } => {
            if store {
                q.store = Some(args[1].clone());
                3
            } else {
                2
            }
        }
    };
    let search = matches!(form, Form::Search { .. });
    let nostore = matches!(
        form,
        Form::RadiusCoords { ro: true } | Form::RadiusMember { ro: true }
    );
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let rest = &args[base..];
    let mut i = 0;
    while i < rest.len() {
        let a = &rest[i];
        let left = rest.len() - i - 1;
        if is(a, "WITHDIST") {
            q.withdist = true;
        } else if is(a, "WITHHASH") {
            q.withhash = true;
        } else if is(a, "WITHCOORD") {
            q.withcoord = true;
        } else if is(a, "ANY") {
            q.any = true;
        } else if is(a, "ASC") {
            q.sort = Sort::Asc;
        } else if is(a, "DESC") {
            q.sort = Sort::Desc;
        } else if is(a, "COUNT") && left >= 1 {
            let c = super::int_arg(&rest[i + 1])?;
            if c <= 0 {
                return Err(CmdError::err("COUNT must be > 0"));
            }
            q.count = usize::try_from(c).unwrap_or(usize::MAX);
            i += 1;
        } else if is(a, "STORE") && left >= 1 && !nostore && !search {
            q.store = Some(rest[i + 1].clone());
            q.storedist = false;
            i += 1;
        } else if is(a, "STOREDIST") && left >= 1 && !nostore && !search {
            q.store = Some(rest[i + 1].clone());
            q.storedist = true;
            i += 1;
        } else if is(a, "STOREDIST") && form == (Form::Search { store: true }) {
            q.storedist = true;
        } else if is(a, "FROMMEMBER") && left >= 1 && search && !fromloc {
            q.from = Some(From::Member(rest[i + 1].clone()));
            frommember = true;
            i += 1;
        } else if is(a, "FROMLONLAT") && left >= 2 && search && !frommember {
            let (lon, lat) = lonlat(&rest[i + 1], &rest[i + 2])?;
            q.from = Some(From::LonLat(lon, lat));
            fromloc = true;
            i += 2;
        } else if is(a, "BYRADIUS") && left >= 2 && search && !bybox {
            let (r, u) = radius(&rest[i + 1..i + 3])?;
            q.shape = Some((Shape::Circle { radius: r }, u));
            byradius = true;
            i += 2;
        } else if is(a, "BYBOX") && left >= 3 && search && !byradius {
            let w = float_or(&rest[i + 1], "need numeric width")?;
            let h = float_or(&rest[i + 2], "need numeric height")?;
            if w < 0.0 || h < 0.0 {
                return Err(CmdError::err("height or width cannot be negative"));
            }
            let u = unit(&rest[i + 3])?;
            q.shape = Some((
                Shape::Box {
                    width: w,
                    height: h,
                },
                u,
            ));
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if q.store.is_some() && (q.withdist || q.withhash || q.withcoord) {
        return Err(CmdError::err(format!(
            "{} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
            if form == (Form::Search { store: true }) {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            }
        )));
    }
    let name = String::from_utf8_lossy(&args[0]).into_owned();
    if search && !(frommember || fromloc) {
        return Err(CmdError::err(format!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if search && !(byradius || bybox) {
        return Err(CmdError::err(format!(
            "exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if q.any && q.count == 0 {
        return Err(CmdError::err("the ANY argument requires COUNT argument"));
    }
    if q.count != 0 && q.sort == Sort::None && !q.any {
        q.sort = Sort::Asc;
    }
    Ok(q)
}

/// Runs the query on `z`: the points to return, sorted and cut to COUNT, distances in the
/// query's unit.
fn run_query(z: &ZSet, q: &Query, center: (f64, f64)) -> Vec<Point> {
    let Some((shape, unit)) = q.shape else {
        return Vec::new();
    };
    let s = Search {
        lon: center.0,
        lat: center.1,
        shape,
        unit,
    };
    let mut pts = search(z, &s, if q.any { q.count } else { 0 });
    match q.sort {
        Sort::Asc => pts.sort_by(|a, b| a.dist.total_cmp(&b.dist)),
        Sort::Desc => pts.sort_by(|a, b| b.dist.total_cmp(&a.dist)),
        Sort::None => {}
    }
    if q.count > 0 {
        pts.truncate(q.count);
    }
    for p in &mut pts {
        p.dist /= unit;
    }
    pts
}

fn member_center(z: &ZSet, m: &[u8]) -> Result<(f64, f64), CmdError> {
    z.score(m)
        .map(score_to_lonlat)
        .ok_or_else(|| CmdError::err("could not decode requested zset member"))
}

fn geo_generic(ctx: &mut Ctx<'_>, args: &[Bytes], form: Form) -> CmdResult {
    let src_idx = if form == (Form::Search { store: true }) {
        2
    } else {
        1
    };
    let src = ctx.db.locate(&args[src_idx]);
    // Redis checks the source's type before anything else.
    {
        let sh = ctx.db.read(src.shard);
        zset_of(&sh, &src, ctx)?;
    }
    // GEORADIUSBYMEMBER reads the member (and its radius) before the options when the key
    // exists; a missing member is reported before any option error.
    if let Form::RadiusMember { .. } = form {
        let sh = ctx.db.read(src.shard);
        if let Some(z) = zset_of(&sh, &src, ctx)? {
            member_center(z, &args[2])?;
            radius(&args[3..5])?;
        }
    }
    let mut q = parse_query(args, form)?;
    if let Form::RadiusMember { .. } = form {
        if q.shape.is_none() {
            let sh = ctx.db.read(src.shard);
            if zset_of(&sh, &src, ctx)?.is_some() {
                let (r, u) = radius(&args[3..5])?;
                q.shape = Some((Shape::Circle { radius: r }, u));
            }
        }
    }
    match q.store.clone() {
        None => {
            let sh = ctx.db.read(src.shard);
            let Some(z) = zset_of(&sh, &src, ctx)? else {
                return Ok(Reply::Array(Vec::new()));
            };
            let center = match &q.from {
                Some(From::LonLat(lon, lat)) => (*lon, *lat),
                Some(From::Member(m)) => member_center(z, m)?,
                None => return Ok(Reply::Array(Vec::new())),
            };
            let pts = run_query(z, &q, center);
            drop(sh);
            let opts = usize::from(q.withdist) + usize::from(q.withhash) + usize::from(q.withcoord);
            Ok(Reply::Array(
                pts.into_iter()
                    .map(|p| {
                        if opts == 0 {
                            return Reply::Bulk(p.member);
                        }
                        let mut v = vec![Reply::Bulk(p.member)];
                        if q.withdist {
                            v.push(dist_reply(p.dist));
                        }
                        if q.withhash {
                            v.push(Reply::Int(p.score as i64));
                        }
                        if q.withcoord {
                            v.push(Reply::Array(vec![human(p.lon), human(p.lat)]));
                        }
                        Reply::Array(v)
                    })
                    .collect(),
            ))
        }
        Some(dst_name) => {
            let dst = ctx.db.locate(&dst_name);
            let now = ctx.now_ms;
            let mut w = ctx.ks.writer();
            let keys: [KeyRef<'_>; 2] = [src, dst];
            let mut g = ctx.db.write_many(&keys, &w);
            let pts = match zset_of(g.shard(&src), &src, ctx)? {
                None => Vec::new(),
                Some(z) => {
                    let center = match &q.from {
                        Some(From::LonLat(lon, lat)) => (*lon, *lat),
                        Some(From::Member(m)) => member_center(z, m)?,
                        None => (0.0, 0.0),
                    };
                    run_query(z, &q, center)
                }
            };
            let entries: Vec<(Bytes, f64)> = pts
                .into_iter()
                .map(|p| (p.member, if q.storedist { p.dist } else { p.score }))
                .collect();
            let n = entries.len();
            let sh = g.shard(&dst);
            let existed = sh.contains(&dst, now);
            store(sh, &dst, build(entries), now, &mut w);
            drop(g);
            drop(w);
            if n > 0 || existed {
                super::note_dirty(ctx, n.max(1) as u64);
            }
            Ok(Reply::Int(n as i64))
        }
    }
}

/// GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC|DESC] [STORE key | STOREDIST key]
pub fn georadius(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    geo_generic(ctx, args, Form::RadiusCoords { ro: false })
}

/// GEORADIUS_RO key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC|DESC]
pub fn georadius_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    geo_generic(ctx, args, Form::RadiusCoords { ro: true })
}

/// GEORADIUSBYMEMBER key member radius M|KM|FT|MI [...] [STORE key | STOREDIST key]
pub fn georadiusbymember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    geo_generic(ctx, args, Form::RadiusMember { ro: false })
}

/// GEORADIUSBYMEMBER_RO key member radius M|KM|FT|MI [...]
pub fn georadiusbymember_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    geo_generic(ctx, args, Form::RadiusMember { ro: true })
}

/// GEOSEARCH key FROMMEMBER member | FROMLONLAT lon lat BYRADIUS r unit | BYBOX w h unit
/// [ASC|DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
pub fn geosearch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    geo_generic(ctx, args, Form::Search { store: false })
}

/// GEOSEARCHSTORE destination source ... [STOREDIST]
pub fn geosearchstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    geo_generic(ctx, args, Form::Search { store: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        // spread/squash are inverse, and a geohash decodes to a cell containing the point.
        for v in [0u32, 1, 0x3ff_ffff, 0xdead_beef, u32::MAX] {
            assert_eq!(squash(spread(v)), v);
        }
        let h = encode_wgs84(13.361389, 38.115556);
        let (lon, lat) = score_to_lonlat(h.bits as f64);
        assert!((lon - 13.361389).abs() < 1e-5 && (lat - 38.115556).abs() < 1e-5);
    }

    #[test]
    fn known_values_match_redis() {
        // Values from the Redis documentation's GEOADD/GEODIST/GEOHASH examples.
        let p = encode_wgs84(13.361389, 38.115556).bits;
        let c = encode_wgs84(15.087269, 37.502669).bits;
        assert_eq!(p, 3479099956230698);
        assert_eq!(hash_string(p as f64), "sqc8b49rny0");
        assert_eq!(hash_string(c as f64), "sqdtr74hyu0");
        let (a, b) = (score_to_lonlat(p as f64), score_to_lonlat(c as f64));
        assert_eq!(
            format!("{:.4}", distance(a.0, a.1, b.0, b.1)),
            "166274.1516"
        );
        assert_eq!(
            LongDouble::from_f64(a.0).to_human_string(),
            "13.36138933897018433"
        );
    }
}
