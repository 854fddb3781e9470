//! The fixture gallery.

use crate::gallery::Item;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct GalleryProps {
    pub items: Rc<Vec<Item>>,
    /// Name of the open image, to mark it.
    pub current: Option<String>,
    pub on_open: Callback<Item>,
}

#[function_component(Gallery)]
pub fn gallery(p: &GalleryProps) -> Html {
    let groups = ["valid", "invalid", "criu", "criu-invalid", "generated"];
    html! {
        <nav id="gallery" aria-label="fixture gallery">
            { for groups.iter().map(|&g| {
                let items: Vec<Item> = p.items.iter().filter(|i| i.group == g).copied().collect();
                if items.is_empty() {
                    return html! {};
                }
                html! {
                    <section class="gallery-group" data-group={g}>
                        <h3>{ g }<span class="count">{ items.len() }</span></h3>
                        <ul>
                        { for items.into_iter().map(|item| {
                            let on_open = p.on_open.clone();
                            let current = p.current.as_deref() == Some(item.name);
                            html! {
                                <li key={item.name}>
                                    <button
                                        class={classes!("gallery-item", g, current.then_some("current"))}
                                        data-name={item.name}
                                        data-group={g}
                                        title={item.description}
                                        onclick={Callback::from(move |_| on_open.emit(item))}
                                    >{ item.name }</button>
                                </li>
                            }
                        }) }
                        </ul>
                    </section>
                }
            }) }
        </nav>
    }
}
