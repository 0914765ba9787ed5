//! The outage campaign (placeholder while being written).
use std::path::PathBuf;
pub struct OutageParams { pub bin: PathBuf }
impl OutageParams { pub fn full(bin: PathBuf, _r: usize) -> Self { OutageParams { bin } } }
pub struct OutageFindings;
impl OutageFindings { pub fn print(&self, _p: &OutageParams) {} pub fn violations(&self) -> Vec<String> { vec![] } }
pub async fn outage_campaign(_p: &OutageParams) -> anyhow::Result<OutageFindings> { Ok(OutageFindings) }
