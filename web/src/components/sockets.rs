//! The sockets table.

use crate::model::{thousands, Doc};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct SocketsProps {
    pub doc: Rc<Doc>,
    pub shown: usize,
    /// The marked socket.
    pub focus: Option<i32>,
    /// Select a socket (and its `SOCKET` record).
    pub on_select: Callback<i32>,
    pub on_more: Callback<()>,
}

#[function_component(Sockets)]
pub fn sockets(p: &SocketsProps) -> Html {
    let rows = &p.doc.sockets;
    let shown = p.shown.min(rows.len());
    let on_more = p.on_more.reform(|_: MouseEvent| ());
    html! {
        <section id="sockets" class="panel">
            <h2>{ "Sockets" }<span class="count">{ thousands(rows.len()) }</span></h2>
            <div class="table-wrap">
            <table>
                <thead><tr>
                    <th>{ "objref" }</th><th>{ "family" }</th><th>{ "type" }</th><th>{ "state" }</th>
                    <th>{ "role" }</th><th>{ "name" }</th><th>{ "peer" }</th><th>{ "queued" }</th>
                    <th>{ "pending" }</th>
                </tr></thead>
                <tbody>
                { for rows[..shown].iter().map(|s| {
                    let objref = s.objref;
                    let onclick = p.on_select.reform(move |_: MouseEvent| objref);
                    html! {
                        <tr key={s.objref} class={classes!("socket", (p.focus == Some(objref)).then_some("focus"))}
                            data-objref={s.objref.to_string()} {onclick}>
                            <td class="num">{ s.objref }</td>
                            <td>{ &s.family }</td>
                            <td>{ &s.ty }</td>
                            <td>{ &s.state }</td>
                            <td>{ s.role.name() }</td>
                            <td class="name">{ &s.name }</td>
                            <td class="num">{ if s.peer == 0 { "-".to_string() } else { s.peer.to_string() } }</td>
                            <td class="num">{ if s.queued_msgs == 0 { "-".to_string() } else {
                                format!("{} msg / {} B", s.queued_msgs, s.queued_bytes) } }</td>
                            <td class="num">{ if s.pending == 0 { "-".to_string() } else { s.pending.to_string() } }</td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
            </div>
            if shown < rows.len() {
                <button class="more" onclick={on_more}>{ format!("show more ({} more sockets)", thousands(rows.len() - shown)) }</button>
            }
        </section>
    }
}
