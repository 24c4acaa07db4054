//! placeholder: being written (temporary stub with the final API)
pub fn parse_i64(_b: &[u8]) -> Option<i64> { None }
pub fn parse_f64(_b: &[u8]) -> Option<f64> { None }
pub fn fmt_double(d: f64) -> String { d.to_string() }
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LongDouble(f64);
impl LongDouble {
    pub fn parse(_b: &[u8]) -> Option<LongDouble> { None }
    pub fn add(self, o: LongDouble) -> LongDouble { LongDouble(self.0 + o.0) }
    pub fn is_finite(&self) -> bool { self.0.is_finite() }
    pub fn to_human_string(&self) -> String { self.0.to_string() }
    pub fn to_f64(&self) -> f64 { self.0 }
}
