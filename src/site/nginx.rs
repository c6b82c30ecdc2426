//! A stand-alone nginx config that serves the site on 127.0.0.1, for the demo and the
//! end-to-end tests. Its `server` block is the one the NixOS module generates: only the
//! site, no autoindex, no hidden files, revalidated pages, the right content types.

use std::path::{Path, PathBuf};

/// The `server` block serving `site_dir` on 127.0.0.1:`port`.
pub fn server_block(site_dir: &Path, port: u16) -> String {
    format!(
        r#"    server {{
        listen 127.0.0.1:{port};
        root {site};
        index index.html;
        autoindex off;
        # The marker file and anything else hidden stay hidden.
        location ~ /\. {{ return 404; }}
        # Pages change after every run: always revalidate.
        location / {{
            try_files $uri $uri/ =404;
            add_header Cache-Control "no-cache" always;
        }}
        location = /style.css {{ add_header Cache-Control "max-age=3600"; }}
        location = /status.json {{
            default_type application/json;
            add_header Cache-Control "no-cache" always;
        }}
        location = /metrics.prom {{
            types {{ }}
            default_type "text/plain; version=0.0.4; charset=utf-8";
            add_header Cache-Control "no-cache" always;
        }}
        location = /feed.atom {{
            types {{ }}
            default_type application/atom+xml;
            add_header Cache-Control "no-cache" always;
        }}
    }}
"#,
        site = site_dir.display()
    )
}

/// Writes `<prefix>/nginx.conf` serving `site_dir` on 127.0.0.1:`port`, with every
/// file nginx writes kept under `prefix`; start it with
/// `nginx -p <prefix> -e stderr -c nginx.conf` (it stays in the foreground).
pub fn write_config(prefix: &Path, site_dir: &Path, port: u16) -> std::io::Result<PathBuf> {
    let path = prefix.join("nginx.conf");
    let text = format!(
        "# Serves the backup-server site: nginx -p {prefix} -e stderr -c nginx.conf\n\
         daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\nerror_log stderr;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n    access_log off;\n\
         \x20   server_tokens off;\n\
         \x20   client_body_temp_path {prefix}/nginx-tmp/body;\n    proxy_temp_path {prefix}/nginx-tmp/proxy;\n\
         \x20   fastcgi_temp_path {prefix}/nginx-tmp/fastcgi;\n    uwsgi_temp_path {prefix}/nginx-tmp/uwsgi;\n\
         \x20   scgi_temp_path {prefix}/nginx-tmp/scgi;\n{server}}}\n",
        prefix = prefix.display(),
        server = server_block(site_dir, port),
    );
    fs_err::create_dir_all(prefix.join("nginx-tmp"))?;
    fs_err::write(&path, text)?;
    Ok(path)
}
