//! BOLT 8 Appendix A, one test per named case, read from
//! `wire-spec/vectors/bolt08-appendix-a.txt`; then a few properties beyond the vectors.

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bytes::BytesMut;

use super::*;
use crate::transport::cipher::{LENGTH_HEADER_LEN, MAC_LEN};
use crate::transport::test_vectors::{hex32, hex_bytes, vector, Case};

fn secret(value: &str) -> SecretKey {
    SecretKey::from_slice(&hex32(value)).unwrap()
}

fn public(value: &str) -> PublicKey {
    PublicKey::from_slice(&hex_bytes(value)).unwrap()
}

/// The `e.pub` and `ls.pub` of a case match its private keys (a check of the file itself).
fn check_public_keys(case: &Case) {
    let secp = Secp256k1::new();
    assert_eq!(
        PublicKey::from_secret_key(&secp, &secret(case.get("ls.priv"))),
        public(case.get("ls.pub"))
    );
    assert_eq!(
        PublicKey::from_secret_key(&secp, &secret(case.get("e.priv"))),
        public(case.get("e.pub"))
    );
}

/// Asserts that `error` is the failure the BOLT names in `output`, e.g.
/// `ERROR (ACT2_BAD_VERSION 1)`.
fn assert_spec_error(output: &str, error: &HandshakeError) {
    let code = output
        .strip_prefix("ERROR (")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not an error output: {output:?}"));
    let (name, number) = code
        .split_once(' ')
        .map_or((code, None), |(n, v)| (n, Some(v)));
    let act = match &name[..4] {
        "ACT1" => Act::One,
        "ACT2" => Act::Two,
        "ACT3" => Act::Three,
        other => panic!("unknown act in {other:?}"),
    };
    let matched = match (&name[5..], error) {
        ("READ_FAILED", HandshakeError::BadLength { act: a, actual }) => {
            *a == act && *actual < act.size()
        }
        ("BAD_VERSION", HandshakeError::BadVersion { act: a, version }) => {
            *a == act && number.is_none_or(|n| n == version.to_string())
        }
        ("BAD_PUBKEY", HandshakeError::BadPubkey { act: a })
        | ("BAD_TAG", HandshakeError::BadTag { act: a }) => *a == act,
        ("BAD_CIPHERTEXT", HandshakeError::BadCiphertext) => act == Act::Three,
        _ => false,
    };
    assert!(matched, "expected {output}, got {error:?}");
}

/// Runs the initiator side of `case` as far as it goes; checks every output it reaches.
fn run_initiator(case: &Case) -> Result<(ActThree, Session), HandshakeError> {
    check_public_keys(case);
    let outputs = case.all("output");
    let (state, act_one) = InitiatorHandshake::new(
        &secret(case.get("ls.priv")),
        &public(case.get("rs.pub")),
        &secret(case.get("e.priv")),
    )?;
    assert_eq!(
        act_one.0.as_slice(),
        hex_bytes(outputs[0]).as_slice(),
        "act one"
    );
    let act_two = ActTwo::try_from(hex_bytes(case.all("input")[0]).as_slice())?;
    let (act_three, session) = state.handle_act_two(&act_two)?;
    assert_eq!(
        act_three.0.as_slice(),
        hex_bytes(outputs[1]).as_slice(),
        "act three"
    );
    Ok((act_three, session))
}

/// Runs the responder side of `case` as far as it goes; checks every output it reaches.
fn run_responder(case: &Case) -> Result<Session, HandshakeError> {
    check_public_keys(case);
    let inputs = case.all("input");
    let outputs = case.all("output");
    let state = ResponderHandshake::new(&secret(case.get("ls.priv")), &secret(case.get("e.priv")))?;
    let act_one = ActOne::try_from(hex_bytes(inputs[0]).as_slice())?;
    let (state, act_two) = state.handle_act_one(&act_one)?;
    assert_eq!(
        act_two.0.as_slice(),
        hex_bytes(outputs[0]).as_slice(),
        "act two"
    );
    let act_three = ActThree::try_from(hex_bytes(inputs[1]).as_slice())?;
    state.handle_act_three(&act_three)
}

/// Splits `0xAAAA..,0xBBBB..` (the last output of a successful case) into two keys.
fn key_pair(output: &str) -> ([u8; 32], [u8; 32]) {
    let (_, keys) = output.split_once('=').unwrap();
    let (first, second) = keys.split_once(',').unwrap();
    (hex32(first), hex32(second))
}

/// The final chaining key of the Appendix A handshake, which the message test starts from.
fn final_chaining_key() -> [u8; 32] {
    hex32(vector("transport-message test").get("ck"))
}

fn initiator_error(name: &str) {
    let case = vector(name);
    let error = run_initiator(&case).expect_err("the handshake must fail");
    assert_spec_error(case.all("output").last().unwrap(), &error);
}

fn responder_error(name: &str) {
    let case = vector(name);
    let error = run_responder(&case).expect_err("the handshake must fail");
    assert_spec_error(case.all("output").last().unwrap(), &error);
}

#[test]
fn bolt8_initiator_successful_handshake() {
    let case = vector("transport-initiator successful handshake");
    let (_, session) = run_initiator(&case).unwrap();
    let (sk, rk) = key_pair(case.all("output")[2]);
    assert_eq!(session.encryptor.keys(), (sk, final_chaining_key()));
    assert_eq!(session.decryptor.keys(), (rk, final_chaining_key()));
    assert_eq!(session.remote_static, public(case.get("rs.pub")));
}

#[test]
fn bolt8_initiator_act2_short_read() {
    initiator_error("transport-initiator act2 short read test");
}

#[test]
fn bolt8_initiator_act2_bad_version() {
    initiator_error("transport-initiator act2 bad version test");
}

#[test]
fn bolt8_initiator_act2_bad_key_serialization() {
    initiator_error("transport-initiator act2 bad key serialization test");
}

#[test]
fn bolt8_initiator_act2_bad_mac() {
    initiator_error("transport-initiator act2 bad MAC test");
}

#[test]
fn bolt8_responder_successful_handshake() {
    let case = vector("transport-responder successful handshake");
    let session = run_responder(&case).unwrap();
    let (rk, sk) = key_pair(case.all("output")[1]);
    assert_eq!(session.encryptor.keys(), (sk, final_chaining_key()));
    assert_eq!(session.decryptor.keys(), (rk, final_chaining_key()));
    // The initiator of Appendix A is the node whose `ls.pub` the initiator cases give.
    let initiator = vector("transport-initiator successful handshake");
    assert_eq!(session.remote_static, public(initiator.get("ls.pub")));
}

#[test]
fn bolt8_responder_act1_short_read() {
    responder_error("transport-responder act1 short read test");
}

#[test]
fn bolt8_responder_act1_bad_version() {
    responder_error("transport-responder act1 bad version test");
}

#[test]
fn bolt8_responder_act1_bad_key_serialization() {
    responder_error("transport-responder act1 bad key serialization test");
}

#[test]
fn bolt8_responder_act1_bad_mac() {
    responder_error("transport-responder act1 bad MAC test");
}

#[test]
fn bolt8_responder_act3_bad_version() {
    responder_error("transport-responder act3 bad version test");
}

#[test]
fn bolt8_responder_act3_short_read() {
    responder_error("transport-responder act3 short read test");
}

#[test]
fn bolt8_responder_act3_bad_mac_for_ciphertext() {
    responder_error("transport-responder act3 bad MAC for ciphertext test");
}

#[test]
fn bolt8_responder_act3_bad_rs() {
    responder_error("transport-responder act3 bad rs test");
}

#[test]
fn bolt8_responder_act3_bad_mac() {
    responder_error("transport-responder act3 bad MAC test");
}

/// Beyond the vectors: two fresh nodes agree on keys and talk in both directions.
#[test]
fn fresh_keys_handshake_and_talk_both_ways() {
    let secp = Secp256k1::new();
    let initiator_static = SecretKey::from_slice(&[0x41; 32]).unwrap();
    let responder_static = SecretKey::from_slice(&[0x42; 32]).unwrap();
    let responder_node_id = PublicKey::from_secret_key(&secp, &responder_static);
    let (initiator, act_one) = InitiatorHandshake::new(
        &initiator_static,
        &responder_node_id,
        &SecretKey::from_slice(&[0x43; 32]).unwrap(),
    )
    .unwrap();
    let responder = ResponderHandshake::new(
        &responder_static,
        &SecretKey::from_slice(&[0x44; 32]).unwrap(),
    )
    .unwrap();
    let (responder, act_two) = responder.handle_act_one(&act_one).unwrap();
    let (act_three, mut initiator) = initiator.handle_act_two(&act_two).unwrap();
    let mut responder = responder.handle_act_three(&act_three).unwrap();
    assert_eq!(
        responder.remote_static,
        PublicKey::from_secret_key(&secp, &initiator_static)
    );
    assert_eq!(initiator.remote_static, responder_node_id);

    talk(&mut initiator.encryptor, &mut responder.decryptor);
    talk(&mut responder.encryptor, &mut initiator.decryptor);
}

fn talk(from: &mut Encryptor, to: &mut Decryptor) {
    let mut frame = BytesMut::new();
    from.encrypt_message(b"ping", &mut frame).unwrap();
    let (header, body) = frame.split_at_mut(LENGTH_HEADER_LEN);
    let length = to.decrypt_length((&*header).try_into().unwrap()).unwrap();
    assert_eq!(usize::from(length), body.len() - MAC_LEN);
    let len = to.decrypt_body(body).unwrap();
    assert_eq!(&body[..len], b"ping");
}

/// An act one meant for another node fails the MAC: the initiator does not know our key.
#[test]
fn act_one_for_another_node_fails_its_mac() {
    let secp = Secp256k1::new();
    let wrong_node = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[9; 32]).unwrap());
    let (_, act_one) = InitiatorHandshake::new(
        &SecretKey::from_slice(&[1; 32]).unwrap(),
        &wrong_node,
        &SecretKey::from_slice(&[2; 32]).unwrap(),
    )
    .unwrap();
    let responder = ResponderHandshake::new(
        &SecretKey::from_slice(&[3; 32]).unwrap(),
        &SecretKey::from_slice(&[4; 32]).unwrap(),
    )
    .unwrap();
    let result = responder.handle_act_one(&act_one);
    assert!(matches!(
        result,
        Err(HandshakeError::BadTag { act: Act::One })
    ));
}

/// Acts longer than their fixed size are refused as well as short ones.
#[test]
fn overlong_acts_are_bad_length() {
    let long = [0; 67];
    assert!(matches!(
        ActThree::try_from(&long[..]),
        Err(HandshakeError::BadLength {
            act: Act::Three,
            actual: 67
        })
    ));
    assert!(matches!(
        ActOne::try_from(&long[..51]),
        Err(HandshakeError::BadLength {
            act: Act::One,
            actual: 51
        })
    ));
}
