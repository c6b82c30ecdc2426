//! This machine's name, as the email's subject, the pages' titles and the feeds call
//! it: asked of the kernel once per use, with a plain fallback when it has none.

/// This machine's name, or `this server` when it has none that can be shown.
pub fn name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if ok && !name.is_empty() => name.to_string(),
        _ => "this server".to_string(),
    }
}
