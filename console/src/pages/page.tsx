import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/** Set at the first navigation: until then the page was just loaded and the focus stays at the top. */
let navigated = false;
addEventListener('hashchange', () => {
  navigated = true;
});

/**
 * A page's heading. After a navigation it takes the focus, so keyboard and screen-reader users
 * land at the top of the new content rather than nowhere (the link they followed is gone).
 */
export function PageHeading({ title, children }: { title: string; children?: ComponentChildren }) {
  const h1 = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (navigated) h1.current?.focus({ preventScroll: true });
  }, []);
  return (
    <div class="page-heading">
      <h1 ref={h1} tabIndex={-1}>
        {title}
      </h1>
      {children}
    </div>
  );
}
