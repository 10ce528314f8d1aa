//! The real app, driven through its widgets (found by accessible label) with egui_kittest, on
//! a real capture from `samples/`: `mqtt5-session.pcap` has 32 MQTT packets, 10 of them
//! PUBLISH (see samples/README.md and samples/expected/mqtt5-session.json).

use crate::common::{displayed, harness_with, sample, wait_loaded};
use dissector::codec::PacketType;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui::MqscopeApp;
use gui::app::commands::Command;
use gui::logic::packet_bytes::ByteView;

const SAMPLE: &str = "mqtt5-session.pcap";
const PACKETS: usize = 32;
const PUBLISHES: usize = 10;

fn loaded() -> Harness<'static, MqscopeApp> {
    let mut h = harness_with(Some(sample(SAMPLE)));
    wait_loaded(&mut h);
    h
}

/// The sample loaded with pub5's first PUBLISH selected (found through a filter, which is then
/// cleared so every row is back).
fn loaded_with_a_publish_selected() -> Harness<'static, MqscopeApp> {
    let mut h = loaded();
    apply_filter(
        &mut h,
        "mqtt.clientid == \"pub5\" && mqtt.msgtype == PUBLISH",
    );
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(3);
    h.get_by_label("Clear").click();
    h.run_steps(3);
    h
}

/// Replaces the text of the field labelled `label` as a user would: focus, select all, type.
#[track_caller]
fn replace_text(h: &mut Harness<'_, MqscopeApp>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label(label).type_text(text);
    h.run_steps(2);
}

/// Clicks a menu, then one of its items, and lets a dialog it opens appear.
#[track_caller]
fn open_menu_item(h: &mut Harness<'_, MqscopeApp>, menu: &str, item: &str) {
    h.get_by_label(menu).click();
    h.run_steps(2);
    h.get_by_label(item).click();
    // A new window is laid out invisibly on its first frame, then shown.
    h.run_steps(5);
}

#[track_caller]
fn apply_filter(h: &mut Harness<'_, MqscopeApp>, text: &str) {
    replace_text(h, "Display filter", text);
    h.get_by_label("Apply").click();
    h.run_steps(3);
}

fn selected_record_type(h: &Harness<'_, MqscopeApp>) -> Option<(PacketType, Option<u16>)> {
    let doc = h.state().doc.as_ref()?;
    let p = doc.selected_packet?;
    let guard = doc.shared.lock_for_ui();
    guard
        .trace()
        .packet(p)
        .map(|r| (r.packet_type, r.packet_id))
}

#[test]
fn opening_a_sample_lists_every_mqtt_packet() {
    let h = loaded();
    assert_eq!(displayed(&h), PACKETS);
    h.get_by_label(&format!("Packets: {PACKETS} · Displayed: {PACKETS}"));
    // The first row is the first CONNECT, with its client id in the info column.
    h.get_by_label_contains("CONNECT \"sub5\"");
}

#[test]
fn typing_a_filter_leaves_only_the_matching_rows_and_errors_show_inline() {
    let mut h = loaded();
    apply_filter(&mut h, "mqtt.msgtype == PUBLISH");
    assert_eq!(displayed(&h), PUBLISHES);
    h.get_by_label(&format!("Packets: {PACKETS} · Displayed: {PUBLISHES}"));

    // A broken filter is flagged where it breaks and does not change the list.
    replace_text(&mut h, "Display filter", "mqtt.qos >");
    assert!(h.state().panels.filter_bar.error.is_some());
    h.get_by_label_contains("(column");
    h.get_by_label("Apply").click();
    h.run_steps(3);
    assert_eq!(displayed(&h), PUBLISHES);

    h.get_by_label("Clear").click();
    h.run_steps(3);
    assert_eq!(displayed(&h), PACKETS);
}

#[test]
fn selecting_a_packet_shows_its_fields_and_highlights_their_bytes() {
    let mut h = loaded();
    apply_filter(
        &mut h,
        "mqtt.msgtype == PUBLISH && mqtt.topic == \"v5/props\"",
    );
    assert!(displayed(&h) >= 1);
    // Keyboard: Down selects the first row.
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(3);
    assert_eq!(
        selected_record_type(&h).map(|t| t.0),
        Some(PacketType::Publish)
    );

    // The tree has the MQTT layers and the MQTT 5 properties by name.
    h.get_by_label("Message type: PUBLISH (3)");
    h.get_by_label_contains("Topic Alias (0x23)");
    h.get_by_label_contains("Correlation Data (0x09)");

    // Selecting the topic field highlights its bytes: length prefix and "v5/props".
    h.get_by_label("Topic: \"v5/props\"").click_accesskit();
    h.run_steps(2);
    let doc = h.state().doc.as_ref().expect("document");
    let range = doc.highlighted_bytes().expect("a highlighted range");
    let p = doc.selected_packet.expect("selection");
    let guard = doc.shared.lock_for_ui();
    // MQTT on TCP from a plain file: the trace keeps no bytes, they are rebuilt from the frames.
    assert_eq!(guard.trace().raw(p), None);
    let bytes = doc
        .packet_mqtt(guard.trace())
        .expect("bytes rebuilt from the frames")
        .to_vec();
    drop(guard);
    assert_eq!(bytes.get(range.clone()), Some(&b"\x00\x08v5/props"[..]));

    // And the other way: a byte of the topic selects the topic field again.
    h.state_mut().push(Command::SelectField(None));
    h.run_steps(1);
    h.state_mut()
        .push(Command::SelectByte(ByteView::Mqtt, range.start + 4));
    h.run_steps(2);
    assert_eq!(
        h.state().doc.as_ref().and_then(|d| d.highlighted_bytes()),
        Some(range)
    );
}

#[test]
fn clicking_an_arrow_in_the_sequence_diagram_selects_its_packet() {
    let mut h = loaded_with_a_publish_selected();
    h.get_by_label("Sequence diagram").click();
    h.run_steps(4);
    // pub5's first QoS 1 PUBLISH (id 1) is acknowledged by the broker's PUBACK id=1.
    // Through accessibility (as a screen reader would): the arrow may be scrolled out of view.
    h.get_by_role_and_label(egui::accesskit::Role::Button, "PUBACK id=1")
        .click_accesskit();
    h.run_steps(3);
    assert_eq!(
        selected_record_type(&h),
        Some((PacketType::PubAck, Some(1)))
    );
    // Incomplete and failed exchanges are counted in the header.
    h.get_by_label_contains("exchanges");
}

#[test]
fn exporting_the_filtered_table_writes_those_rows_and_the_diagram_as_svg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = loaded();
    apply_filter(&mut h, "mqtt.msgtype == PUBLISH");

    open_menu_item(&mut h, "File", "Export packets as CSV…");
    let csv = dir.path().join("publishes.csv");
    replace_text(&mut h, "Export to file", &csv.display().to_string());
    h.get_by_label("Export").click();
    h.run_steps(3);
    let text = std::fs::read_to_string(&csv).expect("the CSV was written");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    assert!(header.split(',').any(|c| c == "frame"), "{header}");
    assert!(header.split(',').any(|c| c == "topic"), "{header}");
    assert_eq!(lines.filter(|l| !l.is_empty()).count(), PUBLISHES);

    open_menu_item(&mut h, "File", "Export packets as Parquet…");
    let parquet = dir.path().join("publishes.parquet");
    replace_text(&mut h, "Export to file", &parquet.display().to_string());
    h.get_by_label("Export").click();
    h.run_steps(3);
    let bytes = std::fs::read(&parquet).expect("the Parquet file was written");
    assert!(
        bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"),
        "not a Parquet file"
    );

    // The sequence diagram of the selected packet's connection, as SVG.
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    h.get_by_label("Sequence diagram").click();
    h.run_steps(3);
    h.get_by_label("Export SVG…").click();
    // A new window is laid out invisibly on its first frame, then shown.
    h.run_steps(5);
    let svg = dir.path().join("flow.svg");
    replace_text(&mut h, "Export to file", &svg.display().to_string());
    h.get_by_label("Export").click();
    h.run_steps(3);
    let text = std::fs::read_to_string(&svg).expect("the SVG was written");
    assert!(
        text.contains("<svg") && text.contains("PUBLISH"),
        "{}",
        &text[..text.len().min(200)]
    );
}

#[test]
fn the_connections_view_filters_the_packet_list_to_one_connection() {
    let mut h = loaded();
    h.get_by_label("Connections").click();
    h.run_steps(3);
    // Row cells are labels; the client id of stream 1 is unique.
    h.get_by_label("pub5").click();
    h.run_steps(3);
    let doc = h.state().doc.as_ref().expect("document");
    let conn = doc.table.connection().expect("a connection filter");
    let n = displayed(&h);
    assert!(n > 0 && n < PACKETS, "{n}");
    let guard = doc.shared.lock_for_ui();
    let trace = guard.trace();
    assert!(
        doc.table
            .rows()
            .iter()
            .all(|&p| trace.packet(p).is_some_and(|r| r.conn == conn))
    );
}

#[test]
fn the_qos_view_lists_failed_exchanges_and_anomalies() {
    let mut h = loaded();
    h.get_by_label("QoS & anomalies").click();
    h.run_steps(3);
    // secret/x (QoS 1) and secret/y (QoS 2) were refused by the broker's ACL (reason 0x87).
    assert_eq!(h.get_all_by_label("failed 0x87").count(), 2);
    h.get_by_label("secret/x");
    h.get_by_label("secret/y");
    h.get_by_label("Anomalies");
    // A row jumps to its packet in the packet list.
    h.get_by_label("secret/y").click();
    h.run_steps(3);
    assert_eq!(h.state().state.view, gui::app::state::View::Packets);
    assert_eq!(
        selected_record_type(&h),
        Some((PacketType::Publish, Some(7)))
    );
}

#[test]
fn the_statistics_view_draws_its_plots() {
    let mut h = loaded();
    h.get_by_label("Statistics").click();
    h.run_steps(3);
    h.get_by_label("Header size per packet type");
    h.get_by_label_contains("Remaining-length field: 1 byte ×");
    h.get_by_label("Topics");
}

/// Renders every view of the loaded sample (after selecting a PUBLISH) to PNGs in the test
/// output folder, for people to look at: `gui-packets.png`, `gui-sequence.png`, …
#[test]
fn every_view_renders_to_an_image() {
    let mut h = loaded_with_a_publish_selected();
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    for (tab, file) in [
        ("Packets", "gui-packets.png"),
        ("Connections", "gui-connections.png"),
        ("Sequence diagram", "gui-sequence.png"),
        ("QoS & anomalies", "gui-qos.png"),
        ("Statistics", "gui-statistics.png"),
    ] {
        h.get_by_label(tab).click();
        h.run_steps(4);
        let image = h.render().expect("the harness renders");
        // A populated view has far more than a handful of colours.
        let mut colours = std::collections::HashSet::new();
        for p in image.pixels() {
            colours.insert(p.0);
            if colours.len() > 50 {
                break;
            }
        }
        assert!(colours.len() > 50, "{tab} looks empty");
        image.save(out.join(file)).expect("PNG written");
    }
}

#[test]
fn keyboard_sorting_and_time_formats_work_on_the_packet_list() {
    let mut h = loaded();
    // Ctrl+F focuses the filter bar.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run_steps(2);
    assert!(h.get_by_label("Display filter").is_focused());
    // Leave the field, then walk the list: Down, PageDown, Up.
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(1);
    h.key_press(egui::Key::PageDown);
    h.run_steps(1);
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(2);
    let doc = h.state().doc.as_ref().expect("document");
    assert_eq!(
        doc.selected_packet.and_then(|p| doc.table.row_of(p)),
        Some(19),
        "row 0 + 20 - 1"
    );

    // A click on a header sorts by it; the selection stays on its packet.
    let selected = doc.selected_packet;
    h.get_by_label("Length").click();
    h.run_steps(3);
    let doc = h.state().doc.as_ref().expect("document");
    let lengths: Vec<u64> = {
        let guard = doc.shared.lock_for_ui();
        doc.table
            .rows()
            .iter()
            .filter_map(|&p| guard.trace().packet(p).map(|r| r.packet_len()))
            .collect()
    };
    assert_eq!(lengths.len(), PACKETS);
    assert!(lengths.windows(2).all(|w| w[0] <= w[1]), "{lengths:?}");
    assert_eq!(doc.selected_packet, selected);

    // View → Time column → Delta changes the header.
    h.get_by_label("View").click();
    h.run_steps(2);
    h.get_by_label("Delta").click();
    h.run_steps(3);
    h.get_by_label("Time (Delta)");
}

/// A file dropped on the window, as the windowing integration would hand it over.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn dropping_a_capture_on_the_window_opens_it_and_remembers_it() {
    let mut h = crate::common::harness_with(None);
    h.run_steps(2);
    let path = sample(SAMPLE);
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path.clone())));
    wait_loaded(&mut h);
    assert_eq!(displayed(&h), PACKETS);
    assert_eq!(h.state().state.recent.iter().next(), Some(path.as_path()));
}

/// The detail tree of the selected packet, as the details pane shows it.
fn detail_tree(h: &mut Harness<'_, MqscopeApp>) -> gui::logic::detail_tree::DetailTree {
    let doc = h.state_mut().doc.as_mut().expect("document");
    let shared = std::sync::Arc::clone(&doc.shared);
    let guard = shared.lock_for_ui();
    doc.detail_tree(guard.trace(), false)
        .cloned()
        .expect("a packet is selected")
}

/// The path of the first tree line whose label starts with `prefix`.
#[track_caller]
fn path_of(h: &mut Harness<'_, MqscopeApp>, prefix: &str) -> Vec<usize> {
    fn walk(
        nodes: &[gui::logic::detail_tree::FieldNode],
        prefix: &str,
        path: &mut Vec<usize>,
    ) -> bool {
        for (i, n) in nodes.iter().enumerate() {
            path.push(i);
            if n.label.starts_with(prefix) || walk(&n.children, prefix, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    let tree = detail_tree(h);
    let mut path = Vec::new();
    assert!(
        walk(&tree.roots, prefix, &mut path),
        "no line starts with {prefix:?} in {:#?}",
        tree.labels()
    );
    path
}

fn selected_label(h: &mut Harness<'_, MqscopeApp>) -> Option<String> {
    let path = h.state().doc.as_ref()?.selected_field.clone()?;
    detail_tree(h).node(&path).map(|n| n.label.clone())
}

/// Frame 18 of mqtt5-session.pcap, the first PUBLISH to "v5/props", against
/// `tshark -r samples/mqtt5-session.pcap -V -Y frame.number==18 -d tcp.port==60251,mqtt`.
#[test]
fn the_details_tree_shows_the_frames_link_ip_and_tcp_layers_and_their_bytes() {
    let mut h = loaded();
    apply_filter(&mut h, "mqtt.topic == \"v5/props\"");
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(3);
    h.get_by_label("Frame 18: 147 bytes on wire (1176 bits), 147 bytes captured (1176 bits)");
    h.get_by_label("Ethernet II, Src: 00:00:00:00:00:00, Dst: 00:00:00:00:00:00");
    h.get_by_label("Internet Protocol Version 4, Src: 127.0.0.1, Dst: 127.0.0.1");
    h.get_by_label(
        "Transmission Control Protocol, Src Port: 43846, Dst Port: 60251, Seq: 3896857313, \
         Ack: 2110155779, Len: 81",
    );
    // The hex pane offers the raw frame and the MQTT bytes, and shows the frame first.
    h.get_by_label("Frame 18 (147 bytes)");
    h.get_by_label("Reassembled MQTT (81 bytes)");
    assert_eq!(
        h.state().doc.as_ref().map(|d| d.hex_view),
        Some(ByteView::Frame(18))
    );

    // An IP field: selecting it opens its layer; tshark's values.
    let ident = path_of(&mut h, "Identification:");
    h.state_mut().push(Command::SelectField(Some(ident)));
    h.run_steps(3);
    h.get_by_label("Identification: 0x546d (21613)");
    h.get_by_label("Header checksum: 0xe803");
    h.get_by_label("Time to live: 64");

    // A TCP field, clicked in the tree: its bytes light up in the frame tab.
    let window = path_of(&mut h, "Window:");
    h.state_mut().push(Command::SelectField(Some(window)));
    h.run_steps(3);
    h.get_by_label("Window: 64");
    h.get_by_label("Source port: 43846").click_accesskit();
    h.run_steps(3);
    assert_eq!(
        selected_label(&mut h).as_deref(),
        Some("Source port: 43846")
    );
    let doc = h.state().doc.as_ref().expect("document");
    assert_eq!(doc.selection(), Some((ByteView::Frame(18), 34..36)));
    assert_eq!(doc.hex_view, ByteView::Frame(18));
    let frame = doc
        .packet_bytes()
        .and_then(|b| b.frame(18))
        .expect("frame 18 read back from the file");
    assert_eq!(
        frame.frame.data.get(34..36),
        Some(&43846u16.to_be_bytes()[..])
    );
    let raw = doc
        .packet_mqtt(doc.shared.lock_for_ui().trace())
        .map(<[u8]>::to_vec);
    let hex = gui::logic::packet_bytes::hex_content(
        doc.packet_bytes(),
        doc.hex_view,
        raw.as_deref(),
        doc.selection().as_ref(),
    );
    assert_eq!(hex.selected, vec![34..36]);
    // The packet's 81 MQTT bytes are the frame's last 81.
    assert_eq!(hex.packet, vec![66..147]);

    // Bytes clicked in the frame select their fields: the TTL, and the first MQTT byte.
    h.state_mut()
        .push(Command::SelectByte(ByteView::Frame(18), 22));
    h.run_steps(2);
    assert_eq!(selected_label(&mut h).as_deref(), Some("Time to live: 64"));
    h.state_mut()
        .push(Command::SelectByte(ByteView::Frame(18), 66));
    h.run_steps(2);
    assert_eq!(
        selected_label(&mut h).as_deref(),
        Some("Message type: PUBLISH (3)")
    );
    let doc = h.state().doc.as_ref().expect("document");
    assert_eq!(doc.highlighted_bytes(), Some(0..1));
    assert_eq!(doc.hex_view, ByteView::Frame(18), "the frame stays in view");
}

/// Frame 8 of websocket.pcap (the CONNECT, masked by the client), against
/// `tshark -r samples/websocket.pcap -V -Y frame.number==8`.
#[test]
fn a_websocket_packet_shows_its_frame_header_and_its_unmasked_bytes_in_the_frame() {
    let mut h = harness_with(Some(sample("websocket.pcap")));
    wait_loaded(&mut h);
    apply_filter(&mut h, "mqtt.msgtype == CONNECT");
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(3);
    h.get_by_label("Frame 8: 89 bytes on wire (712 bits), 89 bytes captured (712 bits)");
    h.get_by_label(
        "Transmission Control Protocol, Src Port: 45300, Dst Port: 36283, Seq: 2594165437, \
         Ack: 2806135614, Len: 23",
    );
    h.get_by_label("WebSocket, Binary, Fin, 17 bytes");
    let key = path_of(&mut h, "Masking key:");
    h.state_mut().push(Command::SelectField(Some(key)));
    h.run_steps(3);
    h.get_by_label("Masking key: 5fdc3c01");
    h.get_by_label("Opcode: Binary (2)");
    let doc = h.state().doc.as_ref().expect("document");
    assert_eq!(doc.selection(), Some((ByteView::Frame(8), 68..72)));
    let frame = doc
        .packet_bytes()
        .and_then(|b| b.frame(8))
        .expect("frame 8");
    // The 17 masked bytes at the end of the frame are the CONNECT.
    assert_eq!(frame.pieces, vec![(0..17, 72..89)]);
}

#[test]
fn a_packet_reassembled_from_several_segments_has_a_tab_per_frame() {
    let mut h = harness_with(Some(sample("split-header.pcap")));
    wait_loaded(&mut h);
    let (p, first, last, len) = {
        let doc = h.state().doc.as_ref().expect("document");
        let guard = doc.shared.lock_for_ui();
        let trace = guard.trace();
        (0..trace.packets.len() as u64)
            .find_map(|p| {
                let r = trace.packet(p)?;
                let len = r.packet_len() as usize;
                (r.frames_back > 0).then(|| (p, r.first_frame(), r.frame, len))
            })
            .expect("split-header.pcap has a packet split across segments")
    };
    h.state_mut().push(Command::SelectPacket(Some(p)));
    h.run_steps(3);
    let labels: Vec<String> = detail_tree(&mut h)
        .labels()
        .into_iter()
        .map(str::to_string)
        .collect();
    assert!(
        labels.iter().any(|l| l.contains("reassembled segments")),
        "{labels:#?}"
    );
    let doc = h.state().doc.as_ref().expect("document");
    let bytes = doc.packet_bytes().expect("frames read");
    let numbers: Vec<u64> = bytes.frames.iter().map(|f| f.frame.number).collect();
    assert_eq!(numbers.first(), Some(&first));
    assert_eq!(numbers.last(), Some(&last));
    // Every MQTT byte was found in exactly one frame.
    assert_eq!(
        bytes.frames.iter().map(|f| f.mqtt_len()).sum::<usize>(),
        len
    );
    for n in &numbers {
        h.get_by_label_contains(&format!("Frame {n} ("));
    }
    h.get_by_label(&format!("Reassembled MQTT ({len} bytes)"));
}

#[test]
fn a_gzipped_capture_keeps_its_frames_in_memory_for_the_details() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mqtt5-session.pcap.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &std::fs::read(sample(SAMPLE)).expect("sample"))
        .expect("compress");
    std::fs::write(&path, gz.finish().expect("compress")).expect("write");
    let mut h = harness_with(Some(path));
    wait_loaded(&mut h);
    apply_filter(&mut h, "mqtt.topic == \"v5/props\"");
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(3);
    // No seeking in a deflate stream: the frames were kept while reading, and show the same.
    let doc = h.state().doc.as_ref().expect("document");
    assert!(gui::logic::frame_store::lock(&doc.frames).keeps_in_memory());
    h.get_by_label("Frame 18: 147 bytes on wire (1176 bits), 147 bytes captured (1176 bits)");
    h.get_by_label("Frame 18 (147 bytes)");
}

/// An IPv6 capture from the public set, frame 8 (PUBLISH), against
/// `tshark -r mqtt311-pub-qos1__input.pcap -V -Y frame.number==8`.
#[test]
fn an_ipv6_frame_shows_every_ipv6_header_field() {
    let path = std::path::Path::new(
        "/work/shared/captures/public/suricata-verify/mqtt311-pub-qos1__input.pcap",
    );
    if !path.is_file() {
        eprintln!("skipped: {} is absent", path.display());
        return;
    }
    let mut h = harness_with(Some(path.to_path_buf()));
    wait_loaded(&mut h);
    apply_filter(&mut h, "mqtt.msgtype == PUBLISH");
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(3);
    h.get_by_label("Frame 8: 114 bytes on wire (912 bits), 114 bytes captured (912 bits)");
    h.get_by_label("Internet Protocol Version 6, Src: ::1, Dst: ::1");
    h.get_by_label_contains(
        "Transmission Control Protocol, Src Port: 38500, Dst Port: 1883, Seq: 4174261787,",
    );
    let hop = path_of(&mut h, "Hop limit:");
    h.state_mut().push(Command::SelectField(Some(hop)));
    h.run_steps(3);
    h.get_by_label("Hop limit: 64");
    h.get_by_label("Flow label: 0xaa0ab");
    h.get_by_label("Payload length: 60");
    h.get_by_label("Next header: TCP (6)");
    let doc = h.state().doc.as_ref().expect("document");
    // Ethernet (14 bytes), then the hop limit is byte 7 of the IPv6 header.
    assert_eq!(doc.selection(), Some((ByteView::Frame(8), 21..22)));
}
