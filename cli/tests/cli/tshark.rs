//! `read -T jsonl` agrees with tshark packet for packet: for every frame tshark decodes as MQTT,
//! the same stream, the same packet types in the same order, the same remaining lengths, packet
//! ids, PUBLISH QoS and topics. Frames the ground truth lists as tshark's own mistakes
//! (`tshark.wrong_frames`) are left out; samples tshark cannot decode at all are skipped with
//! the reason.

use std::collections::BTreeMap;
use std::process::Command;

use crate::common::{expected, json_lines, root, run_sample, samples};

/// Per frame: stream, then per MQTT packet (type, remaining length), packet ids, qos, topics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct FrameRow {
    stream: String,
    types: Vec<u64>,
    lens: Vec<u64>,
    ids: Vec<u64>,
    qos: Vec<u64>,
    topics: Vec<String>,
}

fn split_u64(s: &str) -> Vec<u64> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .filter_map(|x| x.parse().ok())
        .collect()
}

fn tshark_rows(name: &str, port: u64) -> Option<BTreeMap<u64, FrameRow>> {
    let out = Command::new("tshark")
        .current_dir(root())
        .args([
            "-n",
            "-r",
            &format!("samples/{name}.pcap"),
            "-d",
            &format!("tcp.port=={port},mqtt"),
            "-Y",
            "mqtt",
        ])
        .args([
            "-T",
            "fields",
            "-E",
            "separator=\t",
            "-E",
            "aggregator=\u{1f}",
        ])
        .args([
            "-e",
            "frame.number",
            "-e",
            "tcp.stream",
            "-e",
            "mqtt.msgtype",
            "-e",
            "mqtt.len",
        ])
        .args(["-e", "mqtt.msgid", "-e", "mqtt.qos", "-e", "mqtt.topic"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let get = |i: usize| f.get(i).copied().unwrap_or("").replace('\u{1f}', ",");
        let Ok(frame) = get(0).parse::<u64>() else {
            continue;
        };
        let mut topics: Vec<String> = f
            .get(6)
            .copied()
            .unwrap_or("")
            .split('\u{1f}')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        topics.sort();
        let mut ids = split_u64(&get(4));
        ids.sort_unstable();
        rows.insert(
            frame,
            FrameRow {
                stream: get(1),
                types: split_u64(&get(2)),
                lens: split_u64(&get(3)),
                ids,
                qos: split_u64(&get(5)),
                topics,
            },
        );
    }
    Some(rows)
}

fn our_rows(name: &str) -> BTreeMap<u64, FrameRow> {
    let (code, out, err) = run_sample("read", name, &["-T", "jsonl"]);
    assert_eq!(code, 0, "{name}: {err}");
    let mut rows: BTreeMap<u64, FrameRow> = BTreeMap::new();
    for r in json_lines(&out) {
        let frame = r["frame"].as_u64().unwrap_or(0);
        let row = rows.entry(frame).or_default();
        row.stream = r["stream"]
            .as_u64()
            .map(|s| s.to_string())
            .unwrap_or_default();
        row.types.push(r["type_id"].as_u64().unwrap_or(99));
        row.lens.push(r["remaining_length"].as_u64().unwrap_or(0));
        if let Some(id) = r["packet_id"].as_u64() {
            row.ids.push(id);
        }
        if r["type"] == "PUBLISH" {
            row.qos.push(r["qos"].as_u64().unwrap_or(9));
            if let Some(t) = r["topic"].as_str().filter(|t| !t.is_empty()) {
                row.topics.push(t.to_owned());
            }
        }
        for f in r["topics"].as_array().into_iter().flatten() {
            if let Some(t) = f["filter"].as_str() {
                row.topics.push(t.to_owned());
            }
        }
    }
    for row in rows.values_mut() {
        row.ids.sort_unstable();
        row.topics.sort();
    }
    rows
}

#[test]
fn read_jsonl_agrees_with_tshark_on_every_sample() {
    if Command::new("tshark").arg("--version").output().is_err() {
        panic!("tshark is not installed: it is the oracle of this test (apt-get install tshark)");
    }
    let mut compared = 0;
    for name in samples() {
        let truth = expected(&name);
        if truth["tshark"]["decodes_mqtt"] != true {
            eprintln!("{name}: skipped, tshark does not decode its MQTT (ground truth says so)");
            continue;
        }
        let port = truth["mqtt_port"].as_u64().unwrap_or(1883);
        let Some(theirs) = tshark_rows(&name, port) else {
            panic!("{name}: tshark failed")
        };
        let ours = our_rows(&name);
        let wrong: Vec<u64> = truth["tshark"]["wrong_frames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_u64())
            .collect();
        let frames: std::collections::BTreeSet<u64> = theirs
            .keys()
            .chain(ours.keys())
            .copied()
            .filter(|f| !wrong.contains(f))
            .collect();
        for frame in frames {
            let (mut ours, mut theirs) = (ours.get(&frame).cloned(), theirs.get(&frame).cloned());
            // tshark's mqtt.qos is the PUBLISH QoS, but for some versions also the fixed-header
            // bits of SUBSCRIBE/UNSUBSCRIBE: compare QoS on frames of PUBLISHes only.
            if !theirs
                .as_ref()
                .is_some_and(|t| t.types.iter().all(|&t| t == 3))
            {
                for row in [ours.as_mut(), theirs.as_mut()].into_iter().flatten() {
                    row.qos.clear();
                }
            }
            assert_eq!(
                ours, theirs,
                "{name}: frame {frame} (left: mqscope, right: tshark)"
            );
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} frames compared");
}
