//! Colours that carry meaning: packet types (row tints, like Wireshark's colouring rules),
//! severities, and the hex pane's highlight. Each has a light and a dark variant.

use dissector::codec::PacketType;
use dissector::model::Severity;
use egui::Color32;

/// The background tint of a packet-list row of this type.
pub fn row_tint(t: PacketType, dark: bool) -> Color32 {
    // Hues: connection management blue, publish green, QoS acks teal, subscriptions violet,
    // pings grey, disconnect/auth amber, reserved red.
    let (r, g, b) = match t {
        PacketType::Connect | PacketType::ConnAck => (90, 140, 230),
        PacketType::Publish => (80, 190, 100),
        PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp => {
            (60, 180, 180)
        }
        PacketType::Subscribe
        | PacketType::SubAck
        | PacketType::Unsubscribe
        | PacketType::UnsubAck => (160, 110, 220),
        PacketType::PingReq | PacketType::PingResp => (150, 150, 150),
        PacketType::Disconnect | PacketType::Auth => (230, 170, 60),
        PacketType::Reserved => (230, 80, 80),
    };
    let alpha = if dark { 46 } else { 38 };
    Color32::from_rgba_unmultiplied(r, g, b, alpha)
}

/// The solid colour of a packet type (plot bars, diagram arrows).
pub fn type_color(t: PacketType) -> Color32 {
    let c = row_tint(t, false);
    Color32::from_rgb(c.r(), c.g(), c.b())
}

/// Text colour for a severity.
pub fn severity_color(s: Severity, dark: bool) -> Color32 {
    match (s, dark) {
        (Severity::Error, false) => Color32::from_rgb(190, 30, 30),
        (Severity::Error, true) => Color32::from_rgb(255, 110, 100),
        (Severity::Warning, false) => Color32::from_rgb(170, 100, 0),
        (Severity::Warning, true) => Color32::from_rgb(255, 190, 80),
        (Severity::Note, false) => Color32::from_rgb(40, 90, 170),
        (Severity::Note, true) => Color32::from_rgb(130, 170, 255),
    }
}

/// The warning colour (incomplete flows, anomaly marks).
pub fn warning(dark: bool) -> Color32 {
    severity_color(Severity::Warning, dark)
}

/// Background of highlighted bytes in the hex pane.
pub fn byte_highlight(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(40, 80, 140)
    } else {
        Color32::from_rgb(170, 205, 255)
    }
}
