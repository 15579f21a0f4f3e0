use proptest::prelude::*;

use super::*;

fn alice() -> AccountName {
    AccountName::new("alice").unwrap()
}

#[test]
fn reads_account_and_unescaped_key() {
    let login = decode_login(br#"{"op":"login","account":"alice","key":"s3cret"}"#).unwrap();
    assert_eq!(login.account, alice());
    assert_eq!(login.key, "s3cret");
    let login = decode_login(br#"{"key":"a\"b\\c\u0000\ud83d\ude00","account":"al\u0069ce"}"#);
    assert_eq!(
        login,
        Ok(Login {
            account: alice(),
            key: "a\"b\\c\0\u{1f600}".into()
        })
    );
    // An empty key is a key (the account's check refuses it, not the codec).
    assert_eq!(
        decode_login(br#"{"account":"alice","key":""}"#).map(|l| l.key),
        Ok(String::new())
    );
}

#[test]
fn anything_else_is_login_failed() {
    let long_name = format!(r#"{{"account":"{}","key":"k"}}"#, "a".repeat(33));
    let frames: [&[u8]; 14] = [
        b"",
        b"nope",
        b"[]",
        br#"{"account":"alice"}"#,
        br#"{"key":"k"}"#,
        br#"{"account":"alice","key":null}"#,
        br#"{"account":"alice","key":7}"#,
        br#"{"account":["alice"],"key":"k"}"#,
        br#"{"account":"","key":"k"}"#,
        br#"{"account":"al ice","key":"k"}"#,
        br#"{"account":"\u00e9","key":"k"}"#,
        br#"{"account":"alice","key":"k","key":"k"}"#,
        br#"{"account":"alice","key":"\ud800"}"#,
        b"{\"account\":\"alice\",\"key\":\"\xff\"}",
    ];
    for frame in frames.iter().copied().chain([long_name.as_bytes()]) {
        assert_eq!(
            decode_login(frame),
            Err(ErrorReason::LoginFailed),
            "{}",
            String::from_utf8_lossy(frame)
        );
    }
}

#[test]
fn debug_never_shows_the_key() {
    let login = Login {
        account: alice(),
        key: "hunter2".into(),
    };
    let shown = format!("{login:?} {login:#?}");
    assert!(shown.contains("alice"));
    assert!(!shown.contains("hunter2"));
}

#[test]
fn encodes_keys_with_any_characters() {
    let mut out = Vec::new();
    encode_login(&alice(), "a\"\\\n\u{1}é", &mut out);
    assert_eq!(
        out,
        "{\"op\":\"login\",\"account\":\"alice\",\"key\":\"a\\\"\\\\\\u000a\\u0001é\"}\n"
            .as_bytes()
    );
    let line = out.strip_suffix(b"\n").unwrap();
    assert_eq!(
        super::super::decode_request(line),
        Ok(crate::matching::Request::Login)
    );
}

proptest! {
    #[test]
    fn any_key_round_trips(key in any::<String>(), name in "[A-Za-z0-9._-]{1,32}") {
        let account = AccountName::new(&name).unwrap();
        let mut out = Vec::new();
        encode_login(&account, &key, &mut out);
        let login = decode_login(out.strip_suffix(b"\n").unwrap());
        prop_assert_eq!(login, Ok(Login { account, key }));
    }

    #[test]
    fn any_bytes_as_account_or_key_never_panic(
        account in proptest::collection::vec(any::<u8>(), 0..64),
        key in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut frame = br#"{"op":"login","account":""#.to_vec();
        frame.extend_from_slice(&account);
        frame.extend_from_slice(br#"","key":""#);
        frame.extend_from_slice(&key);
        frame.extend_from_slice(br#""}"#);
        if let Ok(login) = decode_login(&frame) {
            prop_assert!(AccountName::new(login.account.as_str()).is_some());
        }
        let _ = decode_login(&key);
    }
}
