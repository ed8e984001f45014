import type { ChannelDto } from '@parley/common/protocol';

/** Which category a text channel sits in ("" for none). */
export function CategoryField({
  value,
  categories,
  onChange,
}: {
  value: string;
  categories: ChannelDto[];
  onChange: (categoryId: string) => void;
}) {
  return (
    <label className="field inline">
      <span>Category</span>
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">None</option>
        {categories.map((k) => (
          <option key={k.id} value={k.id}>
            {k.name}
          </option>
        ))}
      </select>
    </label>
  );
}
