import * as Dialog from '@radix-ui/react-dialog';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link } from 'react-router';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import type { Project } from '@herald/sdk';
import { api, unwrap } from '../api/client';
import { ADMIN_ONLY, useSession } from '../api/session';
import { ConfirmButton } from '../components/confirm';
import { DialogFormButtons } from '../components/dialog';
import { RenameButton } from '../components/rename';
import { applyServerErrors } from '../components/server-errors';
import { described, Field, PageHeader, Reason, TableState, Time } from '../components/ui';
import { useProjects } from './shell';

export const projectSchema = z.object({
  key: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'Lowercase letters, digits and dashes, 2 to 63 characters, starting with a letter or digit'),
  name: z.string().trim().min(1, 'Give the project a name').max(200, 'At most 200 characters'),
});
type ProjectForm = z.infer<typeof projectSchema>;

export default function Projects() {
  const { isAdmin } = useSession();
  const projects = useProjects();
  const items = projects.data?.items ?? [];
  return (
    <section>
      <PageHeader title="Projects">{isAdmin ? <CreateProject /> : null}</PageHeader>
      {!isAdmin && <Reason>{ADMIN_ONLY.projects}</Reason>}
      <table>
        <caption className="sr-only">Projects</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          <TableState
            columns={4}
            loading={projects.isLoading}
            error={projects.error}
            rows={items.length}
            what="projects"
            empty="No projects yet: create one to add webhooks."
            onRetry={() => projects.refetch()}
          />
          {items.map((p) => (
            <tr key={p.key}>
              <td>
                <Link to={`/p/${p.key}/overview`}>{p.name}</Link>
              </td>
              <td>
                <code>{p.key}</code>
              </td>
              <td>
                <Time iso={p.createdAt} />
              </td>
              <td className="row-actions">
                <RenameProject project={p} />
                <DeleteProject project={p} disabled={!isAdmin} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function CreateProject() {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const form = useForm<ProjectForm>({ resolver: zodResolver(projectSchema), defaultValues: { key: '', name: '' } });
  const create = useMutation({ mutationFn: (body: ProjectForm) => unwrap(api.POST('/v1/projects', { body })) });
  const { errors } = form.formState;
  return (
    <Dialog.Root open={open} onOpenChange={(o) => (setOpen(o), form.reset(), setFormError(null))}>
      <Dialog.Trigger asChild>
        <button type="button" className="primary">
          New project
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="overlay" />
        <Dialog.Content className="dialog">
          <Dialog.Title>New project</Dialog.Title>
          <Dialog.Description>Projects hold webhooks, incoming connections, events and their deliveries.</Dialog.Description>
          <form
            onSubmit={form.handleSubmit(async (values) => {
              setFormError(null);
              try {
                await create.mutateAsync(values);
                await queryClient.invalidateQueries({ queryKey: ['projects'] });
                setOpen(false);
              } catch (err) {
                setFormError(applyServerErrors(err, (f, e) => form.setError(f as keyof ProjectForm, e), { key: 'key', name: 'name' }));
              }
            })}
          >
            <Field id="project-name" label="Name" error={errors.name?.message}>
              <input {...described('project-name', errors.name?.message)} {...form.register('name')} />
            </Field>
            <Field id="project-key" label="Key" hint="Used in URLs; cannot be changed later." error={errors.key?.message}>
              <input {...described('project-key', errors.key?.message, true)} {...form.register('key')} />
            </Field>
            {formError && (
              <p className="error" role="alert">
                {formError}
              </p>
            )}
            <DialogFormButtons submitLabel="Create project" disabled={form.formState.isSubmitting} />
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

function RenameProject({ project }: { project: Project }) {
  const queryClient = useQueryClient();
  return (
    <RenameButton
      id={project.key}
      title={`Rename ${project.key}`}
      description="The key stays the same."
      current={project.name}
      maxLength={200}
      onRename={async (name) => {
        await unwrap(api.PATCH('/v1/projects/{key}', { params: { path: { key: project.key } }, body: { name } }));
        await queryClient.invalidateQueries({ queryKey: ['projects'] });
      }}
    />
  );
}

function DeleteProject({ project, disabled }: { project: Project; disabled: boolean }) {
  const queryClient = useQueryClient();
  return (
    <span title={disabled ? ADMIN_ONLY.projects : undefined}>
      <ConfirmButton
        label="Delete"
        destructive
        disabled={disabled}
        className="danger small"
        title={`Delete project ${project.name}?`}
        description={
          <p>
            This deletes <strong>1 project</strong> ({project.key}) and everything in it: its webhooks, API keys, incoming connections with what was posted
            through them, events and deliveries. It cannot be undone.
          </p>
        }
        confirmLabel="Delete project"
        onConfirm={async () => {
          await unwrap(api.DELETE('/v1/projects/{key}', { params: { path: { key: project.key } } }));
          await queryClient.invalidateQueries({ queryKey: ['projects'] });
        }}
      />
    </span>
  );
}
