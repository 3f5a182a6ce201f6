//! Reading the service's pages as a browser would: an element's attribute or text, with
//! the entities the pages escape decoded.

/// `text` with the entities `promptops::web::html::escape` writes decoded.
pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of attribute `attr` of the element whose `id` is `id`, entities decoded.
pub fn attribute(html: &str, id: &str, attr: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let key = format!(" {attr}=\"");
    let value_at = tag.find(&key)? + key.len();
    let value_end = value_at + tag[value_at..].find('"')?;
    Some(unescape(&tag[value_at..value_end]))
}

/// The text of the element with `id="<id>"`, entities decoded.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find("</")?;
    Some(unescape(&html[open_end..close]))
}
