//! The public captures (../shared/captures/public): our decoding agrees with tshark's on every
//! MQTT packet (type, flags, packet id, topics, remaining length, stream, frame), and with the
//! independent stream framing. tshark 4.0 is right on all of them, including the reserved type 0
//! (mqtt-events-unassigned-msgtype), QoS 3 (mqtt-events-invalid-qos, both read its packet id),
//! the 1-byte split CONNACK (mqtt-midstream-split, its split falls after the first byte only) and
//! the port-17501 sessions of ndpi/coap_mqtt.pcap (tshark with decode-as; ours from the port).

use mqscope_tests::captures;
use mqscope_tests::{assert_no_mismatch, compare, oracle, ours, tshark};

/// Compares our codec with tshark on one public capture; `tshark_packets` is the number of MQTT
/// packets tshark finds (INDEX.md of the public folder), so an empty comparison cannot pass;
/// `decode_errors` are the frames whose packet our decoder must reject (malformed input; every
/// other packet must decode cleanly).
fn agrees(relative: &str, tshark_packets: usize, decode_errors: &[u64]) {
    if !tshark::available() {
        return;
    }
    let Some(public) = captures::public_capture(relative) else {
        return;
    };
    let ours = ours::codec_rows(&public.capture);
    let theirs = tshark::mqtt_rows(&public.capture);
    let truth = oracle::rows(&public.capture);
    assert_eq!(
        theirs.len(),
        tshark_packets,
        "{relative}: MQTT packets tshark finds"
    );
    assert_no_mismatch(
        &format!("{relative}: our codec vs tshark"),
        &compare(&ours, &theirs, &[]),
    );
    assert_no_mismatch(
        &format!("{relative}: our codec vs the stream truth"),
        &compare(&ours, &truth, &[]),
    );
    let rejected: Vec<u64> = ours
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| r.frame)
        .collect();
    assert_eq!(
        rejected, decode_errors,
        "{relative}: frames our decoder rejects: {ours:#?}"
    );
}

macro_rules! public_tests {
    ($($test:ident => $relative:literal, $packets:literal $(, errors: [$($frame:literal),*])?;)*) => {$(
        #[test]
        fn $test() {
            agrees($relative, $packets, &[$($($frame),*)?]);
        }
    )*};
}

public_tests! {
    ndpi_coap_mqtt_on_port_17501 => "ndpi/coap_mqtt.pcap", 153;
    ndpi_mqtt_vlan_pcapng => "ndpi/mqtt.pcap", 8;
    peafowl_mqtt_1_pcapng => "peafowl/mqtt-1.pcapng", 20;
    zeek_mqtt => "zeek/mqtt.pcap", 20;
    sv_invalid_qos => "suricata-verify/mqtt-events-invalid-qos__input.pcap", 4;
    sv_missing_connect => "suricata-verify/mqtt-events-missing-connect__input.pcap", 21;
    sv_unassigned_msgtype => "suricata-verify/mqtt-events-unassigned-msgtype__input.pcap", 4;
    sv_unintroduced => "suricata-verify/mqtt-events-unintroduced__input.pcap", 2;
    sv_frames_truncated => "suricata-verify/mqtt-frames-truncated__input.pcap", 2;
    sv_limit_2 => "suricata-verify/mqtt-limit-2__input.pcap", 12;
    sv_midstream_split => "suricata-verify/mqtt-midstream-split.pcap", 3;
    sv_ping => "suricata-verify/mqtt-ping__input.pcap", 2;
    sv_mqtt31_pub_qos1 => "suricata-verify/mqtt31-pub-qos1__input.pcap", 5;
    sv_mqtt31_pub_qos2 => "suricata-verify/mqtt31-pub-qos2__input.pcap", 7;
    sv_mqtt31_pub_userpass_auto_clientid => "suricata-verify/mqtt31-pub-userpass-auto-clientid__input.pcap", 4;
    sv_mqtt31_pub_userpass => "suricata-verify/mqtt31-pub-userpass__input.pcap", 4;
    sv_mqtt31_sub_userpass => "suricata-verify/mqtt31-sub-userpass__input.pcap", 5;
    sv_mqtt31_unsub_qos1 => "suricata-verify/mqtt31-unsub-qos1__input.pcap", 9;
    sv_mqtt311_pub_qos1 => "suricata-verify/mqtt311-pub-qos1__input.pcap", 5;
    sv_mqtt311_pub_qos2 => "suricata-verify/mqtt311-pub-qos2__input.pcap", 7;
    sv_mqtt311_pub_userpass_auto_clientid => "suricata-verify/mqtt311-pub-userpass-auto-clientid__input.pcap", 4;
    sv_mqtt311_pub_userpass => "suricata-verify/mqtt311-pub-userpass__input.pcap", 4;
    sv_mqtt311_sub_userpass => "suricata-verify/mqtt311-sub-userpass__input.pcap", 5;
    sv_mqtt311_unsub_qos2 => "suricata-verify/mqtt311-unsub-qos2__input.pcap", 9;
    // The CONNECT's property length runs past the packet: tshark says Malformed, we reject it.
    sv_mqtt5_excessiveproplen => "suricata-verify/mqtt5-excessiveproplen__input.pcap", 4, errors: [4];
    sv_mqtt5_pub_mosquittoprops => "suricata-verify/mqtt5-pub-mosquittoprops__input.pcap", 5;
    sv_mqtt5_pub_qos1 => "suricata-verify/mqtt5-pub-qos1__input.pcap", 5;
    sv_mqtt5_pub_qos2 => "suricata-verify/mqtt5-pub-qos2__input.pcap", 7;
    sv_mqtt5_pub_userpass_auto_clientid => "suricata-verify/mqtt5-pub-userpass-auto-clientid__input.pcap", 4;
    sv_mqtt5_pub_userpass => "suricata-verify/mqtt5-pub-userpass__input.pcap", 4;
    sv_mqtt5_sub_customauth => "suricata-verify/mqtt5-sub-customauth__input.pcap", 2;
    sv_mqtt5_sub_mosquittoprops => "suricata-verify/mqtt5-sub-mosquittoprops__input.pcap", 5;
    sv_mqtt5_sub_userpass => "suricata-verify/mqtt5-sub-userpass__input.pcap", 5;
    sv_mqtt5_unsub_qos1 => "suricata-verify/mqtt5-unsub-qos1__input.pcap", 9;
    sv_mqtt5_unsub_userpass => "suricata-verify/mqtt5-unsub-userpass__input.pcap", 9;
    sv_mqtt5_pub_jpeg => "suricata-verify/mqtt5_pub_jpeg.pcap", 4;
    sv_mqtt5_pub_jpeg_connack134 => "suricata-verify/mqtt5_pub_jpeg_connack134.pcap", 4;
}

#[test]
fn every_public_capture_has_a_test() {
    let Some(all) = captures::public_captures() else {
        return;
    };
    assert_eq!(
        all.len(),
        37,
        "a public capture was added or removed: give it a test above"
    );
}
