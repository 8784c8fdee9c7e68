//! `/metrics` read by a real Prometheus text-format parser: Python's `prometheus_client`
//! (`text_string_to_metric_families`), from the `.venv` that `.ci/run` makes. Without it
//! the tests that scrape are skipped, loudly; with `CI=true` they fail instead.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use serde::Deserialize;

use super::http_client;

/// Parses the text from standard input and prints every sample as JSON.
const PARSE: &str = r#"
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        value = sample.value
        samples.append({
            "type": family.type,
            "name": sample.name,
            "labels": sample.labels,
            "value": value if math.isfinite(value) else None,
        })
json.dump(samples, sys.stdout)
"#;

/// The virtual environment's Python, if it has `prometheus_client`.
pub fn parser() -> Option<PathBuf> {
    super::venv_python(
        "prometheus_client",
        ".venv/bin/pip install prometheus_client",
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct Sample {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: Option<f64>,
}

/// One scrape, as the parser read it.
#[derive(Debug, Clone)]
pub struct Scrape {
    pub text: String,
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// The samples named `name` carrying every one of `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(k, v)| sample.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// The sum of those samples' values: 0 when there is none (a counter not yet counted).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels)
            .map(|sample| sample.value.unwrap_or(f64::INFINITY))
            .sum()
    }

    /// The type the parser gave the family of the sample `name`.
    pub fn kind_of(&self, name: &str) -> Option<&str> {
        self.samples
            .iter()
            .find(|sample| sample.name == name)
            .map(|sample| sample.kind.as_str())
    }
}

/// Scrapes `base`'s `/metrics` and parses it with `python` (from [`parser`]).
pub async fn scrape(python: &Path, base: &str) -> Scrape {
    let response = http_client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200, "GET {base}/metrics");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    let python = python.to_path_buf();
    let input = text.clone();
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(python)
            .args(["-c", PARSE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the parser starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().expect("the parser ends")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "prometheus_client refused the scrape: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let samples = serde_json::from_slice(&output.stdout).expect("the parser's JSON");
    Scrape { text, samples }
}
